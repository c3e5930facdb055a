import { basename, extname } from 'node:path';
import { ModuleIndex } from '../../django/modules.js';
import type { Allower } from './allow.js';
import { KIND_STRENGTH, routeHits, type FeatureMatcher, type Kind, type Matcher } from './patterns.js';

/**
 * The shape a finding takes in the code; a verdict uses it (a view is gone only when its
 * `def` is gone, not when a comment about it is).
 * - timer: `class` (the job class), `register` (a registry.register(...) call or decorator),
 *   `import`, `reference` (anything else: instantiation, string, comment)
 * - view: `def`, `import`, `reference` (`views.name`)
 * - route: `url-entry` (a urls.py entry: route string or the view it maps), `string`
 * - client: `call` (fetch, axios, a helper or an HTTP library called with the path),
 *   `constant` (a URL constant holding it), `reference` (a use of that constant), `string`
 * - pattern: `match`
 */
export type Form = 'class' | 'register' | 'import' | 'reference' | 'def' | 'url-entry' | 'string' | 'call' | 'constant' | 'match';

/** Where a urls.py entry leads, as the URL configs resolve it. */
export interface RouteInfo {
  /** The path it resolves to (`/api/actandpos/positions`). */
  path: string;
  /** True when the chain of include()s reaches the root urlconf (the path is the full path). */
  mounted: boolean;
  /** The view it names (`positions_view`), and where that is defined (file:line), when found. */
  view: string | null;
  viewAt: string | null;
}

/** Another kind that matched the same line (reported once, under the strongest kind). */
export interface AlsoMatched {
  kind: Kind;
  form: Form;
  term: string;
}

export interface Finding {
  feature: string;
  kind: Kind;
  form: Form;
  /** What matched, in the config's spelling (a pattern's source for kind pattern). */
  term: string;
  path: string;
  /** 1-based; the line and column of the match (for a call: where the call starts). */
  line: number;
  column: number;
  /** The lines shown for it: a multi-line call, or a view with its decorators. */
  startLine: number;
  endLine: number;
  lines: string[];
  /** Why the line is allowed (config allow list or inline marker), or null. */
  allowedBy: string | null;
  /** In documentation (.md, .rst, .txt, .adoc, docs/): a mention, failing only with --docs. */
  doc: boolean;
  /** Other kinds that matched this line. */
  also: AlsoMatched[];
  /** A urls.py entry: where it leads. */
  route?: RouteInfo;
  context?: { before: string[]; after: string[] };
}

/** A resolved urls.py entry that is a feature's route, for the file it is in. */
export interface RouteHit {
  feature: string;
  /** 1-based lines and column of the entry. */
  line: number;
  column: number;
  endLine: number;
  term: string;
  route: RouteInfo;
}

const DOC_EXT = new Set(['.md', '.markdown', '.rst', '.txt', '.adoc', '.asciidoc']);

/** Documentation: by extension, or anything under a `docs/` folder. */
export function isDoc(path: string): boolean {
  return DOC_EXT.has(extname(path).toLowerCase()) || /(^|\/)docs\//i.test(path);
}

const CLIENT_EXT = new Set(['.js', '.jsx', '.ts', '.tsx', '.mjs', '.cjs', '.vue', '.svelte', '.html', '.sh', '.bash', '.zsh', '.ps1', '.rb', '.go', '.java', '.kt', '.swift', '.dart']);
/** A call that sends a request: fetch, axios, a get/post helper, requests/httpx/urlopen, curl. */
const HTTP_CALL = /\b(?:fetch|axios(?:\.(?:get|post|put|patch|delete|request))?|get[A-Z]\w*|getJson|\w*[pP]oll\w*|requests?\.\w+|httpx\.\w+|urlopen|curl|wget|\$\.(?:get|ajax|getJSON)|\w*[cC]lient\.(?:get|post|put|patch|delete)|http\.(?:get|request))\s*[(<`'" ]/;

/** Calls longer than this are not followed: a stray paren must not swallow the file. */
const MAX_CALL_CHARS = 20_000;

const REGISTER_CALL = /\b[\w.]*registry\s*\.\s*register\w*\s*\(/gi;
const URL_ENTRY = /(?<![\w.])(?:re_path|path|url)\s*\(/g;
const MULTILINE_IMPORT = /^[ \t]*from[ \t]+\S+[ \t]+import[ \t]*\(/gm;
const IMPORT_LINE = /^\s*(?:from\s+\S+\s+)?import\s/;

class Lines {
  readonly starts: number[] = [0];
  constructor(readonly text: string) {
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) this.starts.push(i + 1);
  }
  get count(): number { return this.starts.length; }
  /** 0-based line index of a text offset. */
  lineOf(offset: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= offset) lo = mid; else hi = mid - 1;
    }
    return lo;
  }
  at(i: number): string {
    const end = i + 1 < this.starts.length ? this.starts[i + 1]! - 1 : this.text.length;
    return this.text.slice(this.starts[i], end).replace(/\r$/, '');
  }
}

/**
 * The offset just past the `)` that closes the call opened at `open` (the index of its
 * `(`), skipping Python strings and comments; null when it does not close in reach.
 */
export function callEnd(text: string, open: number): number | null {
  let depth = 0;
  const limit = Math.min(text.length, open + MAX_CALL_CHARS);
  for (let i = open; i < limit; i++) {
    const c = text[i];
    if (c === '#') {
      const nl = text.indexOf('\n', i);
      if (nl < 0) return null;
      i = nl;
    } else if (c === '"' || c === "'") {
      const triple = text.startsWith(c.repeat(3), i);
      const quote = triple ? c.repeat(3) : c;
      let j = i + quote.length;
      for (; j < limit; j++) {
        if (text[j] === '\\') { j++; continue; }
        if (!triple && text[j] === '\n') break;
        if (text.startsWith(quote, j)) break;
      }
      i = j + quote.length - 1;
    } else if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return null;
}

function firstMatch(re: RegExp | null, text: string): RegExpExecArray | null {
  if (!re) return null;
  re.lastIndex = 0;
  return re.exec(text);
}

function termOf(fm: FeatureMatcher, matched: string): string {
  const key = matched.replace(/^\^?\/+|\/+\$?$/g, '').toLowerCase();
  return fm.canonical.get(key) ?? matched;
}

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
  const L = new Lines(text);
  const doc = opts.allDocs === true || isDoc(path);
  const ext = extname(path).toLowerCase();
  const python = ext === '.py';
  const clientFile = CLIENT_EXT.has(ext);
  const out: Finding[] = [];
  // feature|kind|line already reported by a call-level finding: not reported again per line.
  const claimed = new Set<string>();
  const claim = (feature: string, kinds: Kind[], from: number, to: number) => {
    for (let i = from; i <= to; i++) for (const k of kinds) claimed.add(`${feature}|${k}|${i}`);
  };
  const isClaimed = (feature: string, kind: Kind, line: number) => claimed.has(`${feature}|${kind}|${line}`);
  const add = (fm: { name: string }, kind: Kind, form: Form, term: string, lineIdx: number, col: number, startIdx = lineIdx, endIdx = lineIdx): Finding => {
    const lines: string[] = [];
    for (let i = startIdx; i <= endIdx; i++) lines.push(L.at(i));
    let allowedBy = opts.fileAllowedBy;
    // A marker or allow entry on any line of a multi-line call allows the call.
    for (let i = startIdx; !allowedBy && i <= endIdx; i++) allowedBy = opts.allow.line(path, L.at(i));
    const f: Finding = { feature: fm.name, kind, form, term, path, line: lineIdx + 1, column: col + 1, startLine: startIdx + 1, endLine: endIdx + 1, lines, allowedBy, doc, also: [] };
    if (opts.context > 0) {
      const before: string[] = [];
      const after: string[] = [];
      for (let i = Math.max(0, startIdx - opts.context); i < startIdx; i++) before.push(L.at(i));
      for (let i = endIdx + 1; i <= Math.min(L.count - 1, endIdx + opts.context); i++) after.push(L.at(i));
      f.context = { before, after };
    }
    out.push(f);
    return f;
  };

  // Job variables: `intraday_job = IntradayJob(channel_layer=...)` then `registry.register(intraday_job, ...)`.
  const jobVars = new Map<string, RegExp>();
  // Every timer form names a job class somewhere in the file; most candidate files name none.
  if (m.kinds.has('timer') && m.features.some((fm) => firstMatch(fm.jobs, text))) {
    for (const fm of m.features) {
      if (!fm.jobs) continue;
      const names = new Set<string>();
      // From each job name back to `name =` on its line: cheaper than an unanchored `(\w+)\s*=` regex.
      for (const hit of text.matchAll(fm.jobs)) {
        if (!/^\s*\(/.test(text.slice(hit.index + hit[0].length, hit.index + hit[0].length + 20))) continue;
        const lineStart = text.lastIndexOf('\n', hit.index) + 1;
        const assign = /([A-Za-z_]\w*)\s*=\s*$/.exec(text.slice(lineStart, hit.index));
        if (assign) names.add(assign[1]!);
      }
      if (names.size) jobVars.set(fm.name, new RegExp(`(?<![\\w.])(?:${[...names].join('|')})(?!\\w)`));
    }

    for (const call of text.matchAll(REGISTER_CALL)) {
      const start = call.index;
      const end = callEnd(text, start + call[0].length - 1);
      if (end === null) continue;
      const body = text.slice(start, end);
      const startIdx = L.lineOf(start);
      let endIdx = L.lineOf(end - 1);
      const decorator = /^\s*@/.test(L.at(startIdx));
      for (const fm of m.features) {
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
        add(fm, 'timer', 'register', termOf(fm, hit), startIdx, start - L.starts[startIdx]!, startIdx, endIdx);
        claim(fm.name, ['timer'], startIdx, endIdx);
      }
    }
  }

  // urls.py entries the URL reader resolved: the route is the feature's by its full path.
  if (m.kinds.has('route')) {
    for (const h of hits) {
      const fm = m.features.find((x) => x.name === h.feature);
      if (!fm) continue;
      const f = add(fm, 'route', 'url-entry', h.term, h.line - 1, h.column - 1, h.line - 1, h.endLine - 1);
      f.route = h.route;
      claim(fm.name, ['route', 'view', 'client'], h.line - 1, h.endLine - 1);
    }
  }

  // A urls-like file the reader did not follow (not named urls.py, not included): read its entries here.
  const urlsFile = opts.urlconf || basename(path) === 'urls.py' || /\burlpatterns\b/.test(text);
  if (urlsFile && !opts.urlconf && m.kinds.has('route')) {
    for (const call of text.matchAll(URL_ENTRY)) {
      const start = call.index;
      const end = callEnd(text, start + call[0].length - 1);
      if (end === null) continue;
      const body = text.slice(start, end);
      const startIdx = L.lineOf(start);
      const endIdx = L.lineOf(end - 1);
      // The route string is the first argument; the view is named after it.
      const comma = body.search(/['"]\s*,/);
      for (const fm of m.features) {
        const hit = routeHits(fm.routes, body)[0]?.[0] ?? firstMatch(fm.routeTails, body)?.[0]
          ?? (comma > 0 ? firstMatch(fm.views, body.slice(comma))?.[0] : undefined);
        if (!hit) continue;
        add(fm, 'route', 'url-entry', termOf(fm, hit), startIdx, start - L.starts[startIdx]!, startIdx, endIdx);
        claim(fm.name, ['route', 'view', 'client'], startIdx, endIdx);
      }
    }
  }

  // Lines inside `from x import (\n a,\n b,\n)`: their names are imports.
  const importLines = new Set<number>();
  for (const imp of text.matchAll(MULTILINE_IMPORT)) {
    const open = imp.index + imp[0].length - 1;
    const end = callEnd(text, open);
    if (end === null) continue;
    for (let i = L.lineOf(imp.index); i <= L.lineOf(end - 1); i++) importLines.add(i);
  }

  // URL constants of a client file: `const POSITIONS_URL = '/api/positions/'`, used by a poller.
  const constants = new Map<string, Set<string>>();

  for (let i = 0; i < L.count; i++) {
    const line = L.at(i);
    if (!m.mayMatch(line) && !constants.size) continue;
    const inImportBlock = importLines.has(i);
    // Where an import's names start: a match before it is in the module path, not a name.
    // (Python's import forms only: elsewhere an import line counts as before, whole.)
    const namesFrom = inImportBlock ? 0 : python ? importNamesStart(line) : IMPORT_LINE.test(line) ? 0 : -1;
    const isImport = namesFrom >= 0;
    // `from ActAndPos import positions`: a module of the tree, not a view named positions.
    const fromModule = isImport && python && opts.modules ? importSource(inImportBlock ? importBlockHead(L, i) : line) : null;
    const isModuleName = (name: string) => fromModule !== null && opts.modules!.resolve(`${ModuleIndex.absolute(fromModule, path)}.${name}`, path) !== null;
    for (const fm of m.features) {
      if (m.kinds.has('timer') && !isClaimed(fm.name, 'timer', i)) {
        const hit = firstWordAfter(fm.jobs, line, isImport ? namesFrom : 0);
        if (hit && !(isImport && isModuleName(hit[0]))) {
          const form: Form = isImport ? 'import' : new RegExp(`^\\s*class\\s+(?:${fm.jobs!.source})\\b`, fm.jobs!.flags).test(line) ? 'class' : 'reference';
          add(fm, 'timer', form, termOf(fm, hit[0]), i, hit.index);
        }
      }
      if (m.kinds.has('view') && fm.views && !isClaimed(fm.name, 'view', i)) {
        const view = classifyView(fm.views, line, isImport ? namesFrom : -1);
        // A found view's name defined in another file is another function.
        const where = view ? fm.discovered.get(view.term.toLowerCase()) : undefined;
        if (view && !(view.form === 'def' && where && where !== path) && !(view.form === 'import' && isModuleName(view.term))) {
          let first = i;
          if (view.form === 'def') while (first > 0 && /^\s*@/.test(L.at(first - 1))) first--;
          add(fm, 'view', view.form, termOf(fm, view.term), i, view.index, first, i);
        }
      }
      if ((m.kinds.has('route') || m.kinds.has('client')) && !(urlsFile && python)) {
        const hit = routeHits(fm.routes, line)[0];
        if (hit) {
          // Calling the REST path from code is a client; the path in docs or other text is a route string.
          const client = !doc && (clientFile || (python && HTTP_CALL.test(line)));
          const kind: Kind = client ? 'client' : 'route';
          if (m.kinds.has(kind) && !isClaimed(fm.name, kind, i)) {
            let form: Form = 'string';
            if (client) {
              const constant = /^\s*(?:export\s+)?(?:const|let|var|readonly|static|final)?\s*([A-Za-z_$][\w$]*)\s*(?::\s*[\w<>[\]| ]+)?=\s*(?!>)/.exec(line);
              if (constant && constant.index + constant[0].length <= hit.index && !HTTP_CALL.test(line.slice(constant.index + constant[0].length, hit.index))) {
                form = 'constant';
                const set = constants.get(fm.name) ?? new Set<string>();
                set.add(constant[1]!);
                constants.set(fm.name, set);
              } else form = HTTP_CALL.test(line) ? 'call' : 'string';
            }
            add(fm, kind, form, termOf(fm, hit[0]), i, hit.index);
          }
        } else if (m.kinds.has('client') && !doc && constants.has(fm.name)) {
          // A use of a URL constant defined above it in the same file.
          for (const name of constants.get(fm.name)!) {
            const use = new RegExp(`(?<![\\w$.])${name.replace(/\$/g, '\\$')}(?![\\w$])`).exec(line);
            if (use) { add(fm, 'client', 'reference', name, i, use.index); break; }
          }
        }
      }
      if (m.kinds.has('pattern')) {
        for (const re of fm.patterns) {
          const hit = firstMatch(re, line);
          if (hit) { add(fm, 'pattern', 'match', re.source, i, hit.index); break; }
        }
      }
    }
  }
  return oneFindingPerLine(out).sort((a, b) => a.line - b.line || a.column - b.column || a.feature.localeCompare(b.feature));
}

/**
 * A line matched by several kinds of one feature is one finding: the strongest kind, the
 * others noted. A multi-line finding (a register call, a urls.py entry) takes the lines it spans.
 */
function oneFindingPerLine(list: Finding[]): Finding[] {
  const rank = (k: Kind) => KIND_STRENGTH.indexOf(k);
  const sorted = [...list].sort((a, b) => rank(a.kind) - rank(b.kind) || (b.endLine - b.startLine) - (a.endLine - a.startLine));
  const kept: Finding[] = [];
  for (const f of sorted) {
    const owner = kept.find((k) => k.feature === f.feature && f.line >= k.startLine && f.line <= k.endLine);
    if (owner) {
      if (!owner.also.some((a) => a.kind === f.kind && a.term === f.term)) owner.also.push({ kind: f.kind, form: f.form, term: f.term });
    } else kept.push(f);
  }
  return kept;
}

/**
 * On an import line, the offset where the imported names start (after ` import `); -1 for
 * a line that is no import. `import a.b` imports a module: no name of it is a job or view.
 */
export function importNamesStart(line: string): number {
  const from = /^\s*from\s+\S+\s+import\b/.exec(line);
  if (from) return from[0].length;
  if (/^\s*import\s/.test(line)) return line.length;
  return -1;
}

/** The module of a `from X import ...` line, or null. */
function importSource(line: string): string | null {
  return /^\s*from\s+(\S+)\s+import\b/.exec(line)?.[1] ?? null;
}

/** The `from X import (` line a line inside a multi-line import belongs to. */
function importBlockHead(L: Lines, i: number): string {
  for (let k = i; k >= 0 && k > i - 500; k--) if (/^\s*from\s+\S+\s+import\s*\(/.test(L.at(k))) return L.at(k);
  return '';
}

/** The first whole-word match at or after `from`. */
function firstWordAfter(re: RegExp | null, line: string, from: number): RegExpExecArray | null {
  if (!re) return null;
  re.lastIndex = 0;
  for (let hit = re.exec(line); hit; hit = re.exec(line)) if (hit.index >= from) return hit;
  return null;
}

/**
 * A view name is a common word (`positions`), so only the forms that are the view count:
 * its definition (a top-level def or class, or a method taking `request`), an imported name
 * (never a module path: `from .positions import Position` is a model), or `views.name`.
 * The same word in a payload key or a WS message type is not a REST view.
 * @param namesFrom on an import line, where its names start; -1 for other lines.
 */
function classifyView(views: RegExp, line: string, namesFrom: number): { form: Form; term: string; index: number } | null {
  views.lastIndex = 0;
  for (let hit = views.exec(line); hit; hit = views.exec(line)) {
    const before = line.slice(0, hit.index);
    const after = line.slice(hit.index + hit[0].length);
    if (namesFrom >= 0) {
      if (hit.index >= namesFrom) return { form: 'import', term: hit[0], index: hit.index };
      continue;
    }
    if (/^(?:async\s+)?def\s+$/.test(before) && /^\s*\(/.test(after)) return { form: 'def', term: hit[0], index: hit.index };
    if (/^class\s+$/.test(before) && /^\s*[(:]/.test(after)) return { form: 'def', term: hit[0], index: hit.index };
    if (/^\s+(?:async\s+)?def\s+$/.test(before) && /^\s*\(\s*(?:self\s*,\s*)?request\b/.test(after)) return { form: 'def', term: hit[0], index: hit.index };
    if (/\w*views\s*\.\s*$/i.test(before)) return { form: 'reference', term: hit[0], index: hit.index };
  }
  return null;
}
