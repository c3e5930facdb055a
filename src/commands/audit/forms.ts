import { extname } from 'node:path';
import { KIND_STRENGTH, type FeatureMatcher, type Kind } from './patterns.js';
import type { Finding, Form } from './finding.js';

/** The text-level forms audit recognises (register calls, url entries, imports, views) and the line index it reads with. */

const DOC_EXT = new Set(['.md', '.markdown', '.rst', '.txt', '.adoc', '.asciidoc']);

/** Documentation: by extension, or anything under a `docs/` folder. */
export function isDoc(path: string): boolean {
  return DOC_EXT.has(extname(path).toLowerCase()) || /(^|\/)docs\//i.test(path);
}

export const CLIENT_EXT = new Set(['.js', '.jsx', '.ts', '.tsx', '.mjs', '.cjs', '.vue', '.svelte', '.html', '.sh', '.bash', '.zsh', '.ps1', '.rb', '.go', '.java', '.kt', '.swift', '.dart']);
/** A call that sends a request: fetch, axios, a get/post helper, requests/httpx/urlopen, curl. */
export const HTTP_CALL = /\b(?:fetch|axios(?:\.(?:get|post|put|patch|delete|request))?|get[A-Z]\w*|getJson|\w*[pP]oll\w*|requests?\.\w+|httpx\.\w+|urlopen|curl|wget|\$\.(?:get|ajax|getJSON)|\w*[cC]lient\.(?:get|post|put|patch|delete)|http\.(?:get|request))\s*[(<`'" ]/;

/** Calls longer than this are not followed: a stray paren must not swallow the file. */
const MAX_CALL_CHARS = 20_000;

export const REGISTER_CALL = /\b[\w.]*registry\s*\.\s*register\w*\s*\(/gi;
export const URL_ENTRY = /(?<![\w.])(?:re_path|path|url)\s*\(/g;
export const MULTILINE_IMPORT = /^[ \t]*from[ \t]+\S+[ \t]+import[ \t]*\(/gm;
export const IMPORT_LINE = /^\s*(?:from\s+\S+\s+)?import\s/;

export class Lines {
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

export function firstMatch(re: RegExp | null, text: string): RegExpExecArray | null {
  if (!re) return null;
  re.lastIndex = 0;
  return re.exec(text);
}

export function termOf(fm: FeatureMatcher, matched: string): string {
  const key = matched.replace(/^\^?\/+|\/+\$?$/g, '').toLowerCase();
  return fm.canonical.get(key) ?? matched;
}

/**
 * A line matched by several kinds of one feature is one finding: the strongest kind, the
 * others noted. A multi-line finding (a register call, a urls.py entry) takes the lines it spans.
 */
export function oneFindingPerLine(list: Finding[]): Finding[] {
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
export function importSource(line: string): string | null {
  return /^\s*from\s+(\S+)\s+import\b/.exec(line)?.[1] ?? null;
}

/** The `from X import (` line a line inside a multi-line import belongs to. */
export function importBlockHead(L: Lines, i: number): string {
  for (let k = i; k >= 0 && k > i - 500; k--) if (/^\s*from\s+\S+\s+import\s*\(/.test(L.at(k))) return L.at(k);
  return '';
}

/** The first whole-word match at or after `from`. */
export function firstWordAfter(re: RegExp | null, line: string, from: number): RegExpExecArray | null {
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
export function classifyView(views: RegExp, line: string, namesFrom: number): { form: Form; term: string; index: number } | null {
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
