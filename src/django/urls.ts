import { ModuleIndex } from './modules.js';
import { dotted, parseModule, stringValue, type Definition, type Expr, type PyModule } from './python.js';

/**
 * Django's URL resolution, as far as reading the code allows: from ROOT_URLCONF (or the one
 * urls module nobody includes), every `path`/`re_path`/`url` entry, `include()` prefixes in
 * their string, tuple, module, list and inline forms with namespaces, down to the view each
 * route names (`name`, `views.name`, `Class.as_view()`, a decorator call around either) and
 * where that view is defined.
 */

/** The files of a checkout and a way to read them: git's tracked files or a walk. */
export interface ProjectSource {
  files: readonly string[];
  /** The text of a file relative to the root; null when it cannot be read. */
  read(file: string): Promise<string | null>;
}

export interface ViewTarget {
  /** The view as the urlconf writes it: `views.positions`, `PositionsView.as_view()`. */
  expr: string;
  /** The name it is defined under (after `import x as y`, without `.as_view()`). */
  name: string;
  /** Absolute module it comes from, when known. */
  module: string | null;
  /** Where it is defined, when found: file, 1-based line of the def/class name. */
  file: string | null;
  line: number | null;
  kind: 'def' | 'class' | null;
}

export interface UrlRoute {
  /** The urlconf file and the entry's 1-based line, column and last line. */
  file: string;
  line: number;
  column: number;
  endLine: number;
  /** The route string as written in this entry (null when it is not a literal). */
  route: string | null;
  regex: boolean;
  /**
   * The path the route resolves to from this urlconf's mount, with a leading `/`: the full
   * path when the chain reaches the root urlconf, else the path below an unknown mount.
   */
  path: string | null;
  /** True when `path` is the full path (the chain starts at the root urlconf). */
  mounted: boolean;
  /** The included module for an include() entry (its routes are listed on their own). */
  include: string | null;
  view: ViewTarget | null;
  name: string | null;
  namespace: string | null;
}

export interface UrlMap {
  /** The root urlconf file, and how it was chosen. */
  root: string | null;
  rootFrom: 'ROOT_URLCONF' | 'the only urlconf nobody includes' | null;
  /** Every entry read: leaf routes (with a view) and include() entries. */
  routes: UrlRoute[];
  /** Urlconf files read. */
  urlconfs: string[];
  /** What could not be followed (an include whose module is not in the tree, ...). */
  unresolved: { file: string; line: number; what: string }[];
}

const URL_FUNCS = new Set(['path', 're_path', 'url']);
const MAX_DEPTH = 12;

/** A path or regex route cleaned for joining: no `^` at the start, no `$` at the end. */
function piece(route: string, regex: boolean): string {
  if (!regex) return route;
  return route.replace(/^\^/, '').replace(/\$$/, '').replace(/\\\//g, '/').replace(/\\([.-])/g, '$1');
}

/** A path's segments for comparison: no leading/trailing slash, no optional-slash regex. */
export function pathSegments(p: string): string[] {
  return p.replace(/^\^/, '').replace(/\$$/, '').replace(/\/\?$/, '/').split('/').filter(Boolean);
}

/** True when two paths are the same route (segments equal; leading/trailing slashes ignored). */
export function samePath(a: string, b: string, ignoreCase = false): boolean {
  const x = pathSegments(a);
  const y = pathSegments(b);
  if (x.length !== y.length || x.length === 0) return false;
  return x.every((s, i) => (ignoreCase ? s.toLowerCase() === y[i]!.toLowerCase() : s === y[i]));
}

export class DjangoProject {
  readonly index: ModuleIndex;
  private readonly parsed = new Map<string, Promise<PyModule | null>>();

  constructor(readonly source: ProjectSource, index?: ModuleIndex) {
    this.index = index ?? new ModuleIndex(source.files);
  }

  /** A parsed module (cached), or null when the file cannot be read. */
  module(file: string): Promise<PyModule | null> {
    let p = this.parsed.get(file);
    if (!p) {
      p = this.source.read(file).then((t) => (t === null ? null : parseModule(t)));
      this.parsed.set(file, p);
    }
    return p;
  }

  /** A module from text already read (parsed once, cached like the others). */
  moduleFromText(file: string, text: string): Promise<PyModule> {
    const cached = this.parsed.get(file);
    if (cached) return cached.then((m) => m ?? parseModule(text));
    const p = Promise.resolve(parseModule(text));
    this.parsed.set(file, p);
    return p;
  }

  /** Files that look like Django settings. */
  settingsFiles(): string[] {
    return this.source.files.filter((f) => /(^|\/)settings(\/[^/]+|_?\w*)?\.py$/.test(f) || /(^|\/)settings\/.*\.py$/.test(f));
  }

  /** Files named like urlconfs (`urls.py`, `urls/*.py`). */
  urlconfFiles(): string[] {
    return this.source.files.filter((f) => /(^|\/)urls\.py$/.test(f) || /(^|\/)urls\/[^/]+\.py$/.test(f));
  }

  /** ROOT_URLCONF from a settings file, resolved to a file. */
  async rootUrlconf(): Promise<{ file: string; settings: string; line: number } | null> {
    for (const s of this.settingsFiles().sort((a, b) => a.length - b.length)) {
      const m = await this.module(s);
      const a = m?.assignments.find((x) => x.target === 'ROOT_URLCONF' && x.op === '=');
      const v = a ? stringValue(a.value) : null;
      if (!v) continue;
      const file = this.index.resolve(v, s);
      if (file) return { file, settings: s, line: a!.line + 1 };
    }
    return null;
  }

  /** The URL map of the project. */
  async urls(): Promise<UrlMap> {
    const map: UrlMap = { root: null, rootFrom: null, routes: [], urlconfs: [], unresolved: [] };
    const visited = new Set<string>();
    const root = await this.rootUrlconf();
    const candidates = this.urlconfFiles();
    let rootFile = root?.file ?? null;
    if (rootFile) map.rootFrom = 'ROOT_URLCONF';
    else {
      // No settings to say: the urlconf no other includes, when there is exactly one that includes others.
      const included = new Set<string>();
      const includers = new Set<string>();
      for (const f of candidates) {
        const m = await this.module(f);
        if (!m) continue;
        for (const t of this.includeTargets(m, f)) { included.add(t); includers.add(f); }
      }
      const tops = candidates.filter((f) => !included.has(f) && includers.has(f));
      if (tops.length === 1) { rootFile = tops[0]!; map.rootFrom = 'the only urlconf nobody includes'; }
    }
    map.root = rootFile;
    if (rootFile) await this.walk(rootFile, '', true, null, 0, visited, map);
    // Urlconfs not reached from the root: their routes are listed below an unknown mount.
    for (const f of candidates.sort()) if (!visited.has(f)) await this.walk(f, '', false, null, 0, visited, map);
    map.urlconfs = [...visited];
    return map;
  }

  private includeTargets(m: PyModule, file: string): string[] {
    const out: string[] = [];
    const visit = (e: Expr) => {
      if (e.t === 'call') {
        const callee = dotted(e.callee);
        if (callee && /(^|\.)include$/.test(callee)) {
          const a = e.args[0];
          const s = a ? stringValue(a.t === 'seq' && a.items[0] ? a.items[0] : a) : null;
          const f = s ? this.index.resolve(s, file) : null;
          if (f) out.push(f);
        }
        e.args.forEach(visit);
        Object.values(e.kwargs).forEach(visit);
      } else if (e.t === 'seq') e.items.forEach(visit);
      else if (e.t === 'add') { visit(e.left); visit(e.right); }
    };
    for (const a of m.assignments) visit(a.value);
    return out;
  }

  /** The items of a urlpatterns-like list expression, following names within the module. */
  private listItems(m: PyModule, e: Expr, seen: Set<string>): Expr[] {
    if (e.t === 'seq') return e.items;
    if (e.t === 'add') return [...this.listItems(m, e.left, seen), ...this.listItems(m, e.right, seen)];
    if (e.t === 'call') {
      // format_suffix_patterns(urlpatterns) and the like: the list is the first argument.
      const a = e.args[0];
      return a ? this.listItems(m, a, seen) : [];
    }
    if (e.t === 'name' && e.parts.length === 1) return this.variable(m, e.parts[0]!, seen);
    return [];
  }

  /** Every item a module-level list variable collects (`=`, `+=`, `.append`, `.extend`). */
  private variable(m: PyModule, name: string, seen = new Set<string>()): Expr[] {
    if (seen.has(name)) return [];
    seen.add(name);
    const items: Expr[] = [];
    for (const a of m.assignments) {
      if (a.target !== name) continue;
      if (a.op === '=') items.length = 0;
      if (a.op === 'append') items.push(a.value);
      else items.push(...this.listItems(m, a.value, seen));
    }
    return items;
  }

  private async walk(file: string, prefix: string, mounted: boolean, namespace: string | null, depth: number, visited: Set<string>, map: UrlMap, items?: Expr[]): Promise<void> {
    if (depth > MAX_DEPTH) return;
    const m = await this.module(file);
    if (!m) return;
    if (!items) {
      if (visited.has(file)) return;
      visited.add(file);
      items = this.variable(m, 'urlpatterns');
    }
    for (const item of items) {
      if (item.t !== 'call') continue;
      const callee = dotted(item.callee);
      const fn = callee?.slice(callee.lastIndexOf('.') + 1);
      if (!fn || !URL_FUNCS.has(fn)) continue;
      const routeExpr = item.args[0] ?? item.kwargs.route;
      const route = routeExpr ? stringValue(routeExpr) : null;
      const regex = fn !== 'path';
      const path = route === null ? null : `/${prefix}${piece(route, regex)}`.replace(/\/{2,}/g, '/');
      const target = item.args[1] ?? item.kwargs.view;
      const nameExpr = item.kwargs.name;
      const entry: UrlRoute = {
        file, line: item.line + 1, column: item.col + 1, endLine: item.endLine + 1,
        route, regex, path, mounted: mounted && path !== null, include: null, view: null,
        name: nameExpr ? stringValue(nameExpr) : null, namespace,
      };
      if (!target) continue;
      const inc = target.t === 'call' ? dotted(target.callee) : null;
      if (target.t === 'call' && inc && /(^|\.)include$/.test(inc)) {
        map.routes.push(entry);
        const nextPrefix = path === null ? prefix : path.slice(1);
        const knownMount = mounted && path !== null;
        let arg = target.args[0];
        let ns = target.kwargs.namespace ? stringValue(target.kwargs.namespace) : null;
        if (arg?.t === 'seq' && arg.items.length === 2 && stringValue(arg.items[1]!) !== null && arg.items[0]!.t !== 'call') {
          // include((patterns_or_module, app_name), namespace=...)
          ns ??= arg.items[1] ? stringValue(arg.items[1]) : null;
          arg = arg.items[0];
        }
        if (!arg) continue;
        const sub = stringValue(arg);
        if (sub !== null) {
          entry.include = sub;
          const f = this.index.resolve(sub, file);
          if (!f) { map.unresolved.push({ file, line: entry.line, what: `include("${sub}"): no module ${sub} in the tree` }); continue; }
          const subMod = await this.module(f);
          const appName = subMod?.assignments.find((a) => a.target === 'app_name');
          ns ??= appName ? stringValue(appName.value) : null;
          await this.walk(f, nextPrefix, knownMount, joinNs(namespace, ns), depth + 1, visited, map);
        } else if (arg.t === 'seq') {
          entry.include = '[...]';
          await this.walk(file, nextPrefix, knownMount, joinNs(namespace, ns), depth + 1, visited, map, arg.items);
        } else if (arg.t === 'name') {
          const name = arg.parts.join('.');
          if (arg.parts.length === 1 && m.assignments.some((a) => a.target === name)) {
            entry.include = name;
            await this.walk(file, nextPrefix, knownMount, joinNs(namespace, ns), depth + 1, visited, map, this.variable(m, name));
            continue;
          }
          // An imported urls module: `from api import urls as api_urls` ... include(api_urls).
          const imp = m.imports.find((x) => x.local === arg!.parts[0]);
          const modName = imp ? [imp.name === null ? imp.module : `${ModuleIndex.absolute(imp.module, file)}.${imp.name}`, ...(arg.parts.slice(1))].join('.') : null;
          const f = modName ? this.index.resolve(modName, file) : null;
          if (f) {
            entry.include = modName;
            await this.walk(f, nextPrefix, knownMount, joinNs(namespace, ns), depth + 1, visited, map);
          } else map.unresolved.push({ file, line: entry.line, what: `include(${name}): not followed` });
        }
        continue;
      }
      // `admin.site.urls`, `router.urls`: a list of routes we cannot read, not a view.
      if (target.t === 'name' && target.parts.length > 1 && target.parts[target.parts.length - 1] === 'urls') {
        entry.include = target.parts.join('.');
        map.routes.push(entry);
        map.unresolved.push({ file, line: entry.line, what: `${entry.include}: not followed` });
        continue;
      }
      entry.view = await this.viewTarget(m, file, target);
      map.routes.push(entry);
    }
  }

  /** What a route's view expression names, and where that is defined. */
  async viewTarget(m: PyModule, file: string, e: Expr): Promise<ViewTarget | null> {
    let expr = e;
    // login_required(views.x), csrf_exempt(X.as_view()): the view is inside.
    for (let k = 0; k < 4 && expr.t === 'call'; k++) {
      const callee = dotted(expr.callee);
      if (callee && expr.callee.t === 'name' && /\.(as_view|as_asgi)$/.test(callee)) {
        expr = { ...expr.callee, parts: expr.callee.parts.slice(0, -1) };
        break;
      }
      const inner = expr.args[0];
      if (!inner) return null;
      expr = inner;
    }
    if (expr.t !== 'name') return null;
    const text = e.t === 'call' || e.t === 'name' ? sourceText(e) : expr.parts.join('.');
    const parts = expr.parts;
    const local = parts[parts.length - 1]!;
    let module: string | null = null;
    let name = local;
    if (parts.length === 1) {
      const imp = m.imports.find((x) => x.local === local && x.name !== null);
      if (imp) { module = ModuleIndex.absolute(imp.module, file); name = imp.name!; }
      else if (m.defs.some((d) => d.name === local && d.indent === 0)) module = ModuleIndex.moduleOf(file);
    } else {
      const imp = m.imports.find((x) => x.local === parts[0]);
      const middle = parts.slice(1, -1);
      if (imp) {
        const base = imp.name === null ? imp.module : `${ModuleIndex.absolute(imp.module, file)}.${imp.name}`;
        module = [base, ...middle].join('.');
      }
    }
    const def = module ? await this.findDefinition(module, name, file, 0) : null;
    return { expr: text, name, module, file: def?.file ?? null, line: def ? def.def.line + 1 : null, kind: def?.def.kind ?? null };
  }

  /** A top-level def/class in a module, following re-exports (`from .x import name`). */
  async findDefinition(module: string, name: string, fromFile: string | null, depth: number): Promise<{ file: string; def: Definition } | null> {
    if (depth > 3) return null;
    const f = this.index.resolve(module, fromFile);
    if (!f) return null;
    const m = await this.module(f);
    if (!m) return null;
    const def = m.defs.find((d) => d.name === name && d.indent === 0);
    if (def) return { file: f, def };
    const imp = m.imports.find((x) => x.local === name && x.name !== null);
    if (imp) return this.findDefinition(ModuleIndex.absolute(imp.module, f), imp.name!, f, depth + 1);
    return null;
  }
}

function joinNs(outer: string | null, inner: string | null): string | null {
  if (!inner) return outer;
  return outer ? `${outer}:${inner}` : inner;
}

/** A short source rendering of a name or call expression (`Views.X.as_view()`). */
function sourceText(e: Expr): string {
  if (e.t === 'name') return e.parts.join('.');
  if (e.t === 'call') return `${sourceText(e.callee)}(${e.args.length ? '...' : ''})`;
  if (e.t === 'str') return JSON.stringify(e.value);
  return '...';
}
