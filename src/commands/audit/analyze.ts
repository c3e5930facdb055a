import { basename, extname } from 'node:path';
import { ModuleIndex } from '../../django/modules.js';
import type { Allower } from './allow.js';
import type { Finding, Form, RouteHit } from './finding.js';
import {
  CLIENT_EXT, HTTP_CALL, IMPORT_LINE, Lines, MULTILINE_IMPORT, REGISTER_CALL, URL_ENTRY,
  callEnd, classifyView, firstMatch, firstWordAfter, importBlockHead, importNamesStart, importSource, isDoc, oneFindingPerLine, termOf,
} from './forms.js';
import { routeHits, type FeatureMatcher, type Kind, type Matcher } from './patterns.js';

export type { AlsoMatched, Finding, Form, RouteHit, RouteInfo } from './finding.js';

export interface AnalyzeOptions {
  context: number;
  allow: Allower;
  /** Set when the whole file is allowed by a path entry. */
  fileAllowedBy: string | null;
  /**
   * The file is a urlconf the URL reader followed: its entries come from `routeHits` (resolved
   * paths), not from matching route strings in the text.
   */
  urlconf?: boolean;
  routeHits?: RouteHit[];
  /** The audited root is itself a docs/ folder: every file is documentation. */
  allDocs?: boolean;
  /** The tree's Python modules: `from pkg import positions` imports a module when pkg/positions.py exists. */
  modules?: ModuleIndex;
}

/** Every finding in one file, in line order: one per feature and line. */
export function analyzeFile(path: string, text: string, m: Matcher, opts: AnalyzeOptions): Finding[] {
  const hits = opts.routeHits ?? [];
  if (!hits.length && !m.mayMatch(text)) return [];
  const a = new FileAnalysis(path, text, m, opts);
  if (m.kinds.has('timer') && m.features.some((fm) => firstMatch(fm.jobs, text))) a.registerCalls();
  if (m.kinds.has('route')) a.resolvedRoutes(hits);
  if (a.urlsFile && !opts.urlconf && m.kinds.has('route')) a.urlEntries();
  a.scanLines();
  return oneFindingPerLine(a.out).sort((x, y) => x.line - y.line || x.column - y.column || x.feature.localeCompare(y.feature));
}

/** One line's import facts: where its names start (-1: no import), and whether a name is a module of the tree. */
interface LineImport {
  namesFrom: number;
  isModuleName: (name: string) => boolean;
}

/** The reading of one file: the call-level forms first (they claim their lines), then line by line. */
class FileAnalysis {
  readonly L: Lines;
  readonly doc: boolean;
  readonly python: boolean;
  readonly clientFile: boolean;
  readonly urlsFile: boolean;
  readonly out: Finding[] = [];
  /** feature|kind|line already reported by a call-level finding: not reported again per line. */
  private readonly claimed = new Set<string>();
  /** URL constants of a client file: `const POSITIONS_URL = '/api/positions/'`, used by a poller. */
  private readonly constants = new Map<string, Set<string>>();

  constructor(readonly path: string, readonly text: string, readonly m: Matcher, readonly opts: AnalyzeOptions) {
    this.L = new Lines(text);
    this.doc = opts.allDocs === true || isDoc(path);
    const ext = extname(path).toLowerCase();
    this.python = ext === '.py';
    this.clientFile = CLIENT_EXT.has(ext);
    // A urls-like file the reader did not follow (not named urls.py, not included) is read here.
    this.urlsFile = opts.urlconf === true || basename(path) === 'urls.py' || /\burlpatterns\b/.test(text);
  }

  private claim(feature: string, kinds: Kind[], from: number, to: number): void {
    for (let i = from; i <= to; i++) for (const k of kinds) this.claimed.add(`${feature}|${k}|${i}`);
  }

  private isClaimed(feature: string, kind: Kind, line: number): boolean {
    return this.claimed.has(`${feature}|${kind}|${line}`);
  }

  private add(fm: { name: string }, kind: Kind, form: Form, term: string, lineIdx: number, col: number, startIdx = lineIdx, endIdx = lineIdx): Finding {
    const { L, opts, path } = this;
    const lines: string[] = [];
    for (let i = startIdx; i <= endIdx; i++) lines.push(L.at(i));
    let allowedBy = opts.fileAllowedBy;
    // A marker or allow entry on any line of a multi-line call allows the call.
    for (let i = startIdx; !allowedBy && i <= endIdx; i++) allowedBy = opts.allow.line(path, L.at(i));
    const f: Finding = { feature: fm.name, kind, form, term, path, line: lineIdx + 1, column: col + 1, startLine: startIdx + 1, endLine: endIdx + 1, lines, allowedBy, doc: this.doc, also: [] };
    if (opts.context > 0) {
      const before: string[] = [];
      const after: string[] = [];
      for (let i = Math.max(0, startIdx - opts.context); i < startIdx; i++) before.push(L.at(i));
      for (let i = endIdx + 1; i <= Math.min(L.count - 1, endIdx + opts.context); i++) after.push(L.at(i));
      f.context = { before, after };
    }
    this.out.push(f);
    return f;
  }

  /** Job variables: `intraday_job = IntradayJob(channel_layer=...)` then `registry.register(intraday_job, ...)`. */
  private jobVariables(): Map<string, RegExp> {
    const jobVars = new Map<string, RegExp>();
    for (const fm of this.m.features) {
      if (!fm.jobs) continue;
      const names = new Set<string>();
      // From each job name back to `name =` on its line: cheaper than an unanchored `(\w+)\s*=` regex.
      for (const hit of this.text.matchAll(fm.jobs)) {
        if (!/^\s*\(/.test(this.text.slice(hit.index + hit[0].length, hit.index + hit[0].length + 20))) continue;
        const lineStart = this.text.lastIndexOf('\n', hit.index) + 1;
        const assign = /([A-Za-z_]\w*)\s*=\s*$/.exec(this.text.slice(lineStart, hit.index));
        if (assign) names.add(assign[1]!);
      }
      if (names.size) jobVars.set(fm.name, new RegExp(`(?<![\\w.])(?:${[...names].join('|')})(?!\\w)`));
    }
    return jobVars;
  }

  /** `registry.register(...)` calls (multi-line too) and the decorator form: each names a job class or variable. */
  registerCalls(): void {
    const { L, text } = this;
    const jobVars = this.jobVariables();
    for (const call of text.matchAll(REGISTER_CALL)) {
      const start = call.index;
      const end = callEnd(text, start + call[0].length - 1);
      if (end === null) continue;
      const body = text.slice(start, end);
      const startIdx = L.lineOf(start);
      let endIdx = L.lineOf(end - 1);
      const decorator = /^\s*@/.test(L.at(startIdx));
      for (const fm of this.m.features) {
        let hit = firstMatch(fm.jobs, body)?.[0];
        if (!hit && jobVars.get(fm.name)?.test(body)) hit = firstMatch(jobVars.get(fm.name)!, body)?.[0];
        if (!hit && decorator && fm.jobs) {
          // `@registry.register(interval=10)` over `class MarketMetricsJob(...)`: the decorator is the registration.
          let i = endIdx + 1;
          while (i < L.count && /^\s*(@|#|$)/.test(L.at(i))) i++;
          const cls = i < L.count ? /^\s*class\s+(\w+)/.exec(L.at(i)) : null;
          if (cls && firstMatch(fm.jobs, cls[1]!)?.[0] === cls[1]) { hit = cls[1]; endIdx = i; }
        }
        if (!hit) continue;
        this.add(fm, 'timer', 'register', termOf(fm, hit), startIdx, start - L.starts[startIdx]!, startIdx, endIdx);
        this.claim(fm.name, ['timer'], startIdx, endIdx);
      }
    }
  }

  /** urls.py entries the URL reader resolved: the route is the feature's by its full path. */
  resolvedRoutes(hits: RouteHit[]): void {
    for (const h of hits) {
      const fm = this.m.features.find((x) => x.name === h.feature);
      if (!fm) continue;
      const f = this.add(fm, 'route', 'url-entry', h.term, h.line - 1, h.column - 1, h.line - 1, h.endLine - 1);
      f.route = h.route;
      this.claim(fm.name, ['route', 'view', 'client'], h.line - 1, h.endLine - 1);
    }
  }

  /** The entries of a urls-like file the URL reader did not follow, matched by route string or view. */
  urlEntries(): void {
    const { L, text } = this;
    for (const call of text.matchAll(URL_ENTRY)) {
      const start = call.index;
      const end = callEnd(text, start + call[0].length - 1);
      if (end === null) continue;
      const body = text.slice(start, end);
      const startIdx = L.lineOf(start);
      const endIdx = L.lineOf(end - 1);
      // The route string is the first argument; the view is named after it.
      const comma = body.search(/['"]\s*,/);
      for (const fm of this.m.features) {
        const hit = routeHits(fm.routes, body)[0]?.[0] ?? firstMatch(fm.routeTails, body)?.[0]
          ?? (comma > 0 ? firstMatch(fm.views, body.slice(comma))?.[0] : undefined);
        if (!hit) continue;
        this.add(fm, 'route', 'url-entry', termOf(fm, hit), startIdx, start - L.starts[startIdx]!, startIdx, endIdx);
        this.claim(fm.name, ['route', 'view', 'client'], startIdx, endIdx);
      }
    }
  }

  /** Lines inside `from x import (\n a,\n b,\n)`: their names are imports. */
  private importBlockLines(): Set<number> {
    const importLines = new Set<number>();
    for (const imp of this.text.matchAll(MULTILINE_IMPORT)) {
      const open = imp.index + imp[0].length - 1;
      const end = callEnd(this.text, open);
      if (end === null) continue;
      for (let i = this.L.lineOf(imp.index); i <= this.L.lineOf(end - 1); i++) importLines.add(i);
    }
    return importLines;
  }

  private lineImport(line: string, i: number, inImportBlock: boolean): LineImport {
    const { python, opts, path } = this;
    // Where an import's names start: a match before it is in the module path, not a name.
    // (Python's import forms only: elsewhere an import line counts as before, whole.)
    const namesFrom = inImportBlock ? 0 : python ? importNamesStart(line) : IMPORT_LINE.test(line) ? 0 : -1;
    // `from ActAndPos import positions`: a module of the tree, not a view named positions.
    const fromModule = namesFrom >= 0 && python && opts.modules ? importSource(inImportBlock ? importBlockHead(this.L, i) : line) : null;
    return { namesFrom, isModuleName: (name) => fromModule !== null && opts.modules!.resolve(`${ModuleIndex.absolute(fromModule, path)}.${name}`, path) !== null };
  }

  /** Line by line: timers, views, routes and client calls, patterns; what a call-level form claimed is skipped. */
  scanLines(): void {
    const { L, m } = this;
    const importLines = this.importBlockLines();
    for (let i = 0; i < L.count; i++) {
      const line = L.at(i);
      if (!m.mayMatch(line) && !this.constants.size) continue;
      const imp = this.lineImport(line, i, importLines.has(i));
      for (const fm of m.features) {
        if (m.kinds.has('timer') && !this.isClaimed(fm.name, 'timer', i)) this.lineTimer(fm, line, i, imp);
        if (m.kinds.has('view') && fm.views && !this.isClaimed(fm.name, 'view', i)) this.lineView(fm, line, i, imp);
        if ((m.kinds.has('route') || m.kinds.has('client')) && !(this.urlsFile && this.python)) this.lineRoute(fm, line, i);
        if (m.kinds.has('pattern')) {
          for (const re of fm.patterns) {
            const hit = firstMatch(re, line);
            if (hit) { this.add(fm, 'pattern', 'match', re.source, i, hit.index); break; }
          }
        }
      }
    }
  }

  private lineTimer(fm: FeatureMatcher, line: string, i: number, imp: LineImport): void {
    const isImport = imp.namesFrom >= 0;
    const hit = firstWordAfter(fm.jobs, line, isImport ? imp.namesFrom : 0);
    if (!hit || (isImport && imp.isModuleName(hit[0]))) return;
    const form: Form = isImport ? 'import' : new RegExp(`^\\s*class\\s+(?:${fm.jobs!.source})\\b`, fm.jobs!.flags).test(line) ? 'class' : 'reference';
    this.add(fm, 'timer', form, termOf(fm, hit[0]), i, hit.index);
  }

  private lineView(fm: FeatureMatcher, line: string, i: number, imp: LineImport): void {
    const view = classifyView(fm.views!, line, imp.namesFrom >= 0 ? imp.namesFrom : -1);
    // A found view's name defined in another file is another function.
    const where = view ? fm.discovered.get(view.term.toLowerCase()) : undefined;
    if (!view || (view.form === 'def' && where && where !== this.path) || (view.form === 'import' && imp.isModuleName(view.term))) return;
    let first = i;
    if (view.form === 'def') while (first > 0 && /^\s*@/.test(this.L.at(first - 1))) first--;
    this.add(fm, 'view', view.form, termOf(fm, view.term), i, view.index, first, i);
  }

  private lineRoute(fm: FeatureMatcher, line: string, i: number): void {
    const { m } = this;
    const hit = routeHits(fm.routes, line)[0];
    if (!hit) {
      if (m.kinds.has('client') && !this.doc && this.constants.has(fm.name)) {
        // A use of a URL constant defined above it in the same file.
        for (const name of this.constants.get(fm.name)!) {
          const use = new RegExp(`(?<![\\w$.])${name.replace(/\$/g, '\\$')}(?![\\w$])`).exec(line);
          if (use) { this.add(fm, 'client', 'reference', name, i, use.index); break; }
        }
      }
      return;
    }
    // Calling the REST path from code is a client; the path in docs or other text is a route string.
    const client = !this.doc && (this.clientFile || (this.python && HTTP_CALL.test(line)));
    const kind: Kind = client ? 'client' : 'route';
    if (!m.kinds.has(kind) || this.isClaimed(fm.name, kind, i)) return;
    let form: Form = 'string';
    if (client) {
      const constant = /^\s*(?:export\s+)?(?:const|let|var|readonly|static|final)?\s*([A-Za-z_$][\w$]*)\s*(?::\s*[\w<>[\]| ]+)?=\s*(?!>)/.exec(line);
      if (constant && constant.index + constant[0].length <= hit.index && !HTTP_CALL.test(line.slice(constant.index + constant[0].length, hit.index))) {
        form = 'constant';
        const set = this.constants.get(fm.name) ?? new Set<string>();
        set.add(constant[1]!);
        this.constants.set(fm.name, set);
      } else form = HTTP_CALL.test(line) ? 'call' : 'string';
    }
    this.add(fm, kind, form, termOf(fm, hit[0]), i, hit.index);
  }
}
