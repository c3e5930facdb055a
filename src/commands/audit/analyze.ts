import { basename } from 'node:path';
import type { Allower } from './allow.js';
import type { FeatureMatcher, Kind, Matcher } from './patterns.js';

/**
 * The shape a finding takes in the code; a verdict uses it (a view is gone only when its
 * `def` is gone, not when a comment about it is).
 * - timer: `class` (the job class), `register` (a registry.register(...) call or decorator),
 *   `import`, `reference` (anything else: instantiation, string, comment)
 * - view: `def`, `import`, `reference` (`views.name`)
 * - route: `url-entry` (a urls.py entry: route string or the view it maps), `string`
 * - pattern: `match`
 */
export type Form = 'class' | 'register' | 'import' | 'reference' | 'def' | 'url-entry' | 'string' | 'match';

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
  context?: { before: string[]; after: string[] };
}

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
}

/** Every finding in one file, in line order. */
export function analyzeFile(path: string, text: string, m: Matcher, opts: AnalyzeOptions): Finding[] {
  if (!m.mayMatch(text)) return [];
  const L = new Lines(text);
  const out: Finding[] = [];
  // feature|kind|line already reported by a call-level finding: not reported again per line.
  const claimed = new Set<string>();
  const claim = (feature: string, kinds: Kind[], from: number, to: number) => {
    for (let i = from; i <= to; i++) for (const k of kinds) claimed.add(`${feature}|${k}|${i}`);
  };
  const isClaimed = (feature: string, kind: Kind, line: number) => claimed.has(`${feature}|${kind}|${line}`);
  const add = (fm: FeatureMatcher, kind: Kind, form: Form, term: string, lineIdx: number, col: number, startIdx = lineIdx, endIdx = lineIdx) => {
    const lines: string[] = [];
    for (let i = startIdx; i <= endIdx; i++) lines.push(L.at(i));
    let allowedBy = opts.fileAllowedBy;
    // A marker or allow entry on any line of a multi-line call allows the call.
    for (let i = startIdx; !allowedBy && i <= endIdx; i++) allowedBy = opts.allow.line(path, L.at(i));
    const f: Finding = { feature: fm.name, kind, form, term, path, line: lineIdx + 1, column: col + 1, startLine: startIdx + 1, endLine: endIdx + 1, lines, allowedBy };
    if (opts.context > 0) {
      const before: string[] = [];
      const after: string[] = [];
      for (let i = Math.max(0, startIdx - opts.context); i < startIdx; i++) before.push(L.at(i));
      for (let i = endIdx + 1; i <= Math.min(L.count - 1, endIdx + opts.context); i++) after.push(L.at(i));
      f.context = { before, after };
    }
    out.push(f);
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

  const urlsFile = basename(path) === 'urls.py' || /\burlpatterns\b/.test(text);
  if (urlsFile && m.kinds.has('route')) {
    for (const call of text.matchAll(URL_ENTRY)) {
      const start = call.index;
      const end = callEnd(text, start + call[0].length - 1);
      if (end === null) continue;
      const body = text.slice(start, end);
      const startIdx = L.lineOf(start);
      const endIdx = L.lineOf(end - 1);
      for (const fm of m.features) {
        const hit = firstMatch(fm.routes, body)?.[0] ?? firstMatch(fm.routeTails, body)?.[0] ?? firstMatch(fm.views, body)?.[0];
        if (!hit) continue;
        add(fm, 'route', 'url-entry', termOf(fm, hit), startIdx, start - L.starts[startIdx]!, startIdx, endIdx);
        claim(fm.name, ['route', 'view'], startIdx, endIdx);
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

  for (let i = 0; i < L.count; i++) {
    const line = L.at(i);
    if (!m.mayMatch(line)) continue;
    const isImport = importLines.has(i) || IMPORT_LINE.test(line);
    for (const fm of m.features) {
      if (m.kinds.has('timer') && !isClaimed(fm.name, 'timer', i)) {
        const hit = firstMatch(fm.jobs, line);
        if (hit) {
          const form: Form = isImport ? 'import' : new RegExp(`^\\s*class\\s+(?:${fm.jobs!.source})\\b`, fm.jobs!.flags).test(line) ? 'class' : 'reference';
          add(fm, 'timer', form, termOf(fm, hit[0]), i, hit.index);
        }
      }
      if (m.kinds.has('view') && fm.views && !isClaimed(fm.name, 'view', i)) {
        const view = classifyView(fm.views, line, isImport);
        if (view) {
          let first = i;
          if (view.form === 'def') while (first > 0 && /^\s*@/.test(L.at(first - 1))) first--;
          add(fm, 'view', view.form, termOf(fm, view.term), i, view.index, first, i);
        }
      }
      if (m.kinds.has('route') && !isClaimed(fm.name, 'route', i)) {
        const hit = firstMatch(fm.routes, line);
        if (hit) add(fm, 'route', urlsFile ? 'url-entry' : 'string', termOf(fm, hit[0]), i, hit.index);
      }
      if (m.kinds.has('pattern')) {
        for (const re of fm.patterns) {
          const hit = firstMatch(re, line);
          if (hit) { add(fm, 'pattern', 'match', re.source, i, hit.index); break; }
        }
      }
    }
  }
  return out.sort((a, b) => a.line - b.line || a.column - b.column);
}

/**
 * A view name is a common word (`positions`), so only the forms that are the view count:
 * its definition (top level, or taking `request`), an import, or `views.name`. The same word
 * in a payload key or a WS message type is not a REST view.
 */
function classifyView(views: RegExp, line: string, isImport: boolean): { form: Form; term: string; index: number } | null {
  views.lastIndex = 0;
  for (let hit = views.exec(line); hit; hit = views.exec(line)) {
    const before = line.slice(0, hit.index);
    const after = line.slice(hit.index + hit[0].length);
    if (/^(?:async\s+)?def\s+$/.test(before) && /^\s*\(/.test(after)) return { form: 'def', term: hit[0], index: hit.index };
    if (/^\s+(?:async\s+)?def\s+$/.test(before) && /^\s*\(\s*(?:self\s*,\s*)?request\b/.test(after)) return { form: 'def', term: hit[0], index: hit.index };
    if (isImport) return { form: 'import', term: hit[0], index: hit.index };
    if (/\w*views\s*\.\s*$/i.test(before)) return { form: 'reference', term: hit[0], index: hit.index };
  }
  return null;
}
