/**
 * Just enough of Python to read a Django project without running it: a tokenizer that knows
 * strings (every prefix, triple quotes, escapes), comments, brackets and logical lines, and a
 * small expression reader for the shapes URL configs, imports and definitions take.
 *
 * It never executes anything and never fails: text it cannot read becomes an `other`
 * expression, and a statement it does not know is skipped.
 */

export type TokenType = 'name' | 'string' | 'number' | 'op' | 'newline';

export interface Token {
  type: TokenType;
  /** The name, the operator, or a string's contents (escapes undone unless raw). */
  value: string;
  /** Offsets into the source: [start, end). */
  start: number;
  end: number;
  /** 0-based line of `start`. */
  line: number;
  /** 0-based column of `start`. */
  col: number;
}

const STRING_PREFIX = /^(?:[rRbBuUfF]|[rR][bBfF]|[bBfF][rR])$/;
const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', '0': '\0', a: '\x07', b: '\b', f: '\f', v: '\v' };

function isNameStart(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c > 127;
}
function isNameChar(c: number): boolean {
  return isNameStart(c) || (c >= 48 && c <= 57);
}

/**
 * Tokens of a whole module. A `newline` token ends each logical line (outside brackets, not
 * after a backslash continuation); blank and comment-only lines produce none.
 */
export function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let depth = 0;
  let line = 0;
  let lineStart = 0;
  let i = 0;
  const n = src.length;
  const push = (type: TokenType, value: string, start: number, end: number, l = line, ls = lineStart) => {
    out.push({ type, value, start, end, line: l, col: start - ls });
  };
  while (i < n) {
    const c = src.charCodeAt(i);
    if (c === 10) { // \n
      if (depth === 0 && out.length && out[out.length - 1]!.type !== 'newline') push('newline', '', i, i + 1);
      i++; line++; lineStart = i;
      continue;
    }
    if (c === 32 || c === 9 || c === 13 || c === 12) { i++; continue; }
    if (c === 35) { // # comment
      const nl = src.indexOf('\n', i);
      i = nl < 0 ? n : nl;
      continue;
    }
    if (c === 92 && src.charCodeAt(i + 1) === 10) { i += 2; line++; lineStart = i; continue; } // \ continuation
    if (c === 92 && src.charCodeAt(i + 1) === 13 && src.charCodeAt(i + 2) === 10) { i += 3; line++; lineStart = i; continue; }
    if (isNameStart(c)) {
      let j = i + 1;
      while (j < n && isNameChar(src.charCodeAt(j))) j++;
      const word = src.slice(i, j);
      const q = src.charCodeAt(j);
      if ((q === 34 || q === 39) && STRING_PREFIX.test(word)) {
        i = readString(j, word);
        continue;
      }
      push('name', word, i, j);
      i = j;
      continue;
    }
    if (c === 34 || c === 39) { i = readString(i, ''); continue; }
    if (c >= 48 && c <= 57) {
      let j = i + 1;
      while (j < n && /[\w.]/.test(src[j]!)) j++;
      push('number', src.slice(i, j), i, j);
      i = j;
      continue;
    }
    const ch = src[i]!;
    if (ch === '(' || ch === '[' || ch === '{') depth++;
    else if (ch === ')' || ch === ']' || ch === '}') depth = Math.max(0, depth - 1);
    // Two-character operators that matter here: `+=`, `->`, `**`, `:=`.
    const two = src.slice(i, i + 2);
    if (two === '+=' || two === '->' || two === '**' || two === ':=' || two === '==' || two === '!=' || two === '<=' || two === '>=') {
      push('op', two, i, i + 2);
      i += 2;
      continue;
    }
    push('op', ch, i, i + 1);
    i++;
  }
  if (out.length && out[out.length - 1]!.type !== 'newline') push('newline', '', n, n);
  return out;

  /** Reads a string starting at its opening quote; returns the offset after it. */
  function readString(q: number, prefix: string): number {
    const start = q - prefix.length;
    const startLine = line;
    const startLs = lineStart;
    const quote = src[q]!;
    const triple = src.startsWith(quote.repeat(3), q);
    const delim = triple ? quote.repeat(3) : quote;
    const raw = /[rR]/.test(prefix);
    let j = q + delim.length;
    let value = '';
    while (j < n) {
      const ch = src[j]!;
      if (ch === '\\' && j + 1 < n) {
        const next = src[j + 1]!;
        if (next === '\n') { line++; lineStart = j + 2; if (raw) value += '\\\n'; j += 2; continue; }
        value += raw ? ch + next : (ESCAPES[next] ?? ch + next);
        j += 2;
        continue;
      }
      if (src.startsWith(delim, j)) { j += delim.length; break; }
      if (ch === '\n') {
        if (!triple) break; // an unterminated string ends at the line (as a reader, not a judge)
        line++; lineStart = j + 1;
      }
      value += ch;
      j++;
    }
    push('string', value, start, j, startLine, startLs);
    return j;
  }
}

/** The logical lines (statements) of a module: each a run of tokens without its newline. */
export function statements(tokens: Token[]): Token[][] {
  const out: Token[][] = [];
  let cur: Token[] = [];
  for (const t of tokens) {
    if (t.type === 'newline') { if (cur.length) out.push(cur); cur = []; } else cur.push(t);
  }
  if (cur.length) out.push(cur);
  return out;
}

// --- expressions -----------------------------------------------------------------------

interface Span {
  /** 0-based line and column where the expression starts, and the line it ends on. */
  line: number;
  col: number;
  endLine: number;
  start: number;
  end: number;
}

export type Expr =
  | (Span & { t: 'str'; value: string })
  | (Span & { t: 'name'; parts: string[] })
  | (Span & { t: 'call'; callee: Expr; args: Expr[]; kwargs: Record<string, Expr> })
  | (Span & { t: 'seq'; items: Expr[] })
  | (Span & { t: 'add'; left: Expr; right: Expr })
  | (Span & { t: 'dict'; entries: { key: Expr; value: Expr }[] })
  | (Span & { t: 'other' });

/** Reads expressions from a token run; stops at a comma or closing bracket at its own level. */
export class ExprReader {
  i: number;
  constructor(readonly toks: Token[], start = 0) { this.i = start; }

  peek(k = 0): Token | undefined { return this.toks[this.i + k]; }
  atOp(v: string): boolean { const t = this.peek(); return t?.type === 'op' && t.value === v; }

  /** An expression, with `a + b` and postfix `.name`, `(...)`, `[...]`. */
  expr(): Expr {
    const startI = this.i;
    let left = this.postfix();
    while (this.atOp('+')) {
      this.i++;
      const right = this.postfix();
      left = { t: 'add', left, right, line: left.line, col: left.col, endLine: right.endLine, start: left.start, end: right.end };
    }
    // Anything else up to the next comma/closer at this level is an expression we do not read.
    if (!this.atEnd()) {
      this.skipRest();
      const first = this.toks[startI]!;
      const last = this.toks[this.i - 1] ?? first;
      return { t: 'other', line: first.line, col: first.col, endLine: last.line, start: first.start, end: last.end };
    }
    return left;
  }

  /** True at a comma, a closer, or the end of the run. */
  atEnd(): boolean {
    const t = this.peek();
    return !t || (t.type === 'op' && (t.value === ',' || t.value === ')' || t.value === ']' || t.value === '}'));
  }

  /** Skips to the next comma or closer at this bracket level. */
  skipRest(): void {
    let depth = 0;
    while (this.i < this.toks.length) {
      const t = this.toks[this.i]!;
      if (t.type === 'op') {
        if (t.value === '(' || t.value === '[' || t.value === '{') depth++;
        else if (t.value === ')' || t.value === ']' || t.value === '}') { if (depth === 0) return; depth--; }
        else if (t.value === ',' && depth === 0) return;
      }
      this.i++;
    }
  }

  private postfix(): Expr {
    let e = this.atom();
    for (;;) {
      const t = this.peek();
      if (t?.type !== 'op') break;
      if (t.value === '.' && this.peek(1)?.type === 'name') {
        const name = this.peek(1)!;
        this.i += 2;
        if (e.t === 'name') e = { ...e, parts: [...e.parts, name.value], end: name.end, endLine: name.line };
        else e = { t: 'other', line: e.line, col: e.col, endLine: name.line, start: e.start, end: name.end };
      } else if (t.value === '(') {
        this.i++;
        const { args, kwargs, close } = this.callArgs();
        e = { t: 'call', callee: e, args, kwargs, line: e.line, col: e.col, endLine: close?.line ?? e.endLine, start: e.start, end: close?.end ?? e.end };
      } else if (t.value === '[') {
        this.i++;
        this.seqItems(']');
        const close = this.toks[this.i - 1];
        e = { t: 'other', line: e.line, col: e.col, endLine: close?.line ?? e.endLine, start: e.start, end: close?.end ?? e.end };
      } else break;
    }
    return e;
  }

  private atom(): Expr {
    const t = this.peek();
    if (!t) return { t: 'other', line: 0, col: 0, endLine: 0, start: 0, end: 0 };
    if (t.type === 'string') {
      // Adjacent literals are one string ('api/' 'positions').
      let value = t.value;
      let last = t;
      this.i++;
      while (this.peek()?.type === 'string') { last = this.peek()!; value += last.value; this.i++; }
      return { t: 'str', value, line: t.line, col: t.col, endLine: last.line, start: t.start, end: last.end };
    }
    if (t.type === 'name') {
      this.i++;
      return { t: 'name', parts: [t.value], line: t.line, col: t.col, endLine: t.line, start: t.start, end: t.end };
    }
    if (t.type === 'op' && (t.value === '[' || t.value === '(')) {
      this.i++;
      const items = this.seqItems(t.value === '[' ? ']' : ')');
      const close = this.toks[this.i - 1] ?? t;
      // `(x)` is x; `(x,)` and `[x]` are sequences.
      if (t.value === '(' && items.length === 1 && this.toks[this.i - 2]?.value !== ',') return items[0]!;
      return { t: 'seq', items, line: t.line, col: t.col, endLine: close.line, start: t.start, end: close.end };
    }
    if (t.type === 'op' && t.value === '{') {
      this.i++;
      const entries = this.dictEntries();
      const close = this.toks[this.i - 1] ?? t;
      return { t: 'dict', entries, line: t.line, col: t.col, endLine: close.line, start: t.start, end: close.end };
    }
    // Unknown: consume one token so the reader always advances.
    this.i++;
    const last = this.toks[this.i - 1]!;
    return { t: 'other', line: t.line, col: t.col, endLine: last.line, start: t.start, end: last.end };
  }

  /** `key: value` pairs up to the `}` (consumed); a set's items and `**x` are skipped. */
  private dictEntries(): { key: Expr; value: Expr }[] {
    const entries: { key: Expr; value: Expr }[] = [];
    while (this.i < this.toks.length) {
      if (this.atOp('}')) { this.i++; return entries; }
      if (this.atOp(',')) { this.i++; continue; }
      const before = this.i;
      if (this.atOp('**')) { this.i++; this.expr(); continue; }
      const key = this.postfix();
      if (this.atOp(':')) {
        this.i++;
        entries.push({ key, value: this.expr() });
      } else this.skipRest();
      if (this.i === before) this.i++;
      else if (!this.atOp(',') && !this.atOp('}') && this.atEnd()) this.i++;
    }
    return entries;
  }

  /** Items up to the closer (consumed). `*x` and `**x` are read as their operand. */
  seqItems(closer: string): Expr[] {
    const items: Expr[] = [];
    while (this.i < this.toks.length) {
      if (this.atOp(closer)) { this.i++; return items; }
      if (this.atOp('*') || this.atOp('**')) this.i++;
      if (this.atOp(',')) { this.i++; continue; }
      const before = this.i;
      items.push(this.expr());
      if (this.atOp(',')) this.i++;
      else if (!this.atOp(closer)) {
        // A closer of another kind or stray text: step over it rather than loop.
        if (this.i === before) this.i++;
        else if (this.atEnd() && !this.atOp(closer)) this.i++;
      }
    }
    return items;
  }

  private callArgs(): { args: Expr[]; kwargs: Record<string, Expr>; close: Token | undefined } {
    const args: Expr[] = [];
    const kwargs: Record<string, Expr> = {};
    while (this.i < this.toks.length) {
      if (this.atOp(')')) { const close = this.peek(); this.i++; return { args, kwargs, close }; }
      if (this.atOp(',')) { this.i++; continue; }
      if (this.atOp('*') || this.atOp('**')) this.i++;
      const t = this.peek();
      const before = this.i;
      if (t?.type === 'name' && this.peek(1)?.type === 'op' && this.peek(1)!.value === '=') {
        this.i += 2;
        kwargs[t.value] = this.expr();
      } else args.push(this.expr());
      if (this.i === before) this.i++;
      else if (!this.atOp(',') && !this.atOp(')') && this.atEnd()) this.i++;
    }
    return { args, kwargs, close: undefined };
  }
}

/** `views.positions` -> 'views.positions'; a call's callee likewise; else null. */
export function dotted(e: Expr): string | null {
  return e.t === 'name' ? e.parts.join('.') : null;
}

/** A string expression's value (also `'a' + 'b'`), else null. */
export function stringValue(e: Expr): string | null {
  if (e.t === 'str') return e.value;
  if (e.t === 'add') {
    const l = stringValue(e.left);
    const r = stringValue(e.right);
    return l !== null && r !== null ? l + r : null;
  }
  return null;
}

// --- module structure ------------------------------------------------------------------

export interface ImportedName {
  /** The name bound in this module (after `as`). */
  local: string;
  /** The module it comes from, as written (`.views`, `ThorTrading.views`). */
  module: string;
  /** The name imported from the module; null for `import a.b` / `import a.b as c` (a module). */
  name: string | null;
  /** 0-based line and column of the imported name itself. */
  line: number;
  col: number;
  /** The statement's first and last lines. */
  stmtLine: number;
  stmtEndLine: number;
}

export interface Definition {
  kind: 'def' | 'class';
  name: string;
  /** 0-based line and column of the name. */
  line: number;
  col: number;
  /** Column of the `def`/`class` keyword: 0 at top level. */
  indent: number;
  /** First line of its decorators (its own line when it has none). */
  decoratorLine: number;
  /** Parameter names of a def (empty for a class), to tell views (`request`) from others. */
  params: string[];
  /** Base classes of a class, as dotted names. */
  bases: string[];
}

export interface Assignment {
  target: string;
  op: '=' | '+=' | 'append' | 'extend';
  value: Expr;
  line: number;
}

/** The value of a dict literal's string key, or undefined. */
export function dictGet(e: Expr, key: string): Expr | undefined {
  if (e.t !== 'dict') return undefined;
  return e.entries.find((x) => stringValue(x.key) === key)?.value;
}

/** Every expression in a tree, depth first (calls, their callee and arguments, containers). */
export function* walkExpr(e: Expr): Generator<Expr> {
  yield e;
  if (e.t === 'call') {
    yield* walkExpr(e.callee);
    for (const a of e.args) yield* walkExpr(a);
    for (const v of Object.values(e.kwargs)) yield* walkExpr(v);
  } else if (e.t === 'seq') for (const x of e.items) yield* walkExpr(x);
  else if (e.t === 'add') { yield* walkExpr(e.left); yield* walkExpr(e.right); }
  else if (e.t === 'dict') for (const x of e.entries) { yield* walkExpr(x.key); yield* walkExpr(x.value); }
}

/**
 * Every expression a statement holds: after its keyword (`return`, `await`, `yield`) or
 * assignment target, read left to right. Enough to find calls and dict literals anywhere.
 */
export function statementExprs(st: Token[]): Expr[] {
  const out: Expr[] = [];
  const r = new ExprReader(st, 0);
  // Re-reading after an expression it cannot read is quadratic on a pathological statement
  // (100,000 tokens of `a + b * c ...`): past this much work, the rest is not read.
  let work = 0;
  const budget = 64 * st.length + 10_000;
  while (r.i < st.length && work < budget) {
    const before = r.i;
    const t = st[r.i]!;
    if (t.type === 'op' && (t.value === '(' || t.value === '[' || t.value === '{') || t.type === 'name' || t.type === 'string') {
      const e = r.expr();
      work += r.i - before;
      if (e.t !== 'other') out.push(e);
      else {
        // Read again from after the first token: `return f(x)`, `x = {...}`, `await g(...)`.
        r.i = before + 1;
        continue;
      }
    }
    if (r.i === before) r.i++;
  }
  return out;
}

export interface PyModule {
  tokens: Token[];
  imports: ImportedName[];
  defs: Definition[];
  /** Top-level assignments, and `x.append(...)`/`x.extend(...)` calls, in order. */
  assignments: Assignment[];
  /** Every statement (token runs), for readers that look for other shapes. */
  statements: Token[][];
}

/** Reads a module's imports, definitions and top-level assignments. */
export function parseModule(src: string): PyModule {
  const tokens = tokenize(src);
  const stmts = statements(tokens);
  const imports: ImportedName[] = [];
  const defs: Definition[] = [];
  const assignments: Assignment[] = [];
  let pendingDecorator: number | null = null;
  for (const st of stmts) {
    const first = st[0]!;
    const kw = first.type === 'name' ? first.value : '';
    if (first.type === 'op' && first.value === '@') {
      if (pendingDecorator === null) pendingDecorator = first.line;
      continue;
    }
    const decoratorLine = pendingDecorator;
    pendingDecorator = null;
    if (kw === 'from' || kw === 'import') { readImport(st, imports); continue; }
    const isAsync = kw === 'async' && st[1]?.value === 'def';
    const head = isAsync ? st[1]! : first;
    if ((head.value === 'def' || head.value === 'class') && head.type === 'name') {
      const nameTok = st[st.indexOf(head) + 1];
      if (nameTok?.type !== 'name') continue;
      const params: string[] = [];
      const bases: string[] = [];
      const open = st[st.indexOf(nameTok) + 1];
      if (open?.type === 'op' && open.value === '(') {
        const r = new ExprReader(st, st.indexOf(open) + 1);
        if (head.value === 'def') {
          // Parameter names: the first name of each comma-separated part.
          let depth = 0;
          let expectName = true;
          for (let k = st.indexOf(open) + 1; k < st.length; k++) {
            const t = st[k]!;
            if (t.type === 'op' && '([{'.includes(t.value)) depth++;
            else if (t.type === 'op' && ')]}'.includes(t.value)) { if (depth === 0) break; depth--; }
            else if (depth === 0 && t.type === 'op' && t.value === ',') expectName = true;
            else if (depth === 0 && expectName && t.type === 'name') { params.push(t.value); expectName = false; }
          }
        } else {
          for (const b of r.seqItems(')')) { const d = dotted(b); if (d) bases.push(d); }
        }
      }
      defs.push({
        kind: head.value === 'def' ? 'def' : 'class', name: nameTok.value, line: nameTok.line, col: nameTok.col,
        indent: first.col, decoratorLine: decoratorLine ?? first.line, params, bases,
      });
      continue;
    }
    if (first.col !== 0 || first.type !== 'name') continue;
    // `name = ...`, `name: T = ...`, `name += ...`, `name.append(...)`, `name.extend(...)`
    const second = st[1];
    if (second?.type === 'op' && (second.value === '=' || second.value === '+=')) {
      assignments.push({ target: first.value, op: second.value === '=' ? '=' : '+=', value: new ExprReader(st, 2).expr(), line: first.line });
    } else if (second?.type === 'op' && second.value === ':') {
      const eq = st.findIndex((t, k) => k > 1 && t.type === 'op' && t.value === '=');
      if (eq > 0) assignments.push({ target: first.value, op: '=', value: new ExprReader(st, eq + 1).expr(), line: first.line });
    } else if (second?.type === 'op' && second.value === '.' && (st[2]?.value === 'append' || st[2]?.value === 'extend') && st[3]?.value === '(') {
      const r = new ExprReader(st, 4);
      assignments.push({ target: first.value, op: st[2]!.value as 'append' | 'extend', value: r.expr(), line: first.line });
    }
  }
  return { tokens, imports, defs, assignments, statements: stmts };
}

function readImport(st: Token[], out: ImportedName[]): void {
  const first = st[0]!;
  const endLine = st[st.length - 1]!.line;
  let k = 1;
  const readDotted = (): string => {
    let s = '';
    while (k < st.length) {
      const t = st[k]!;
      if (t.type === 'op' && t.value === '.') { s += '.'; k++; continue; }
      if (t.type === 'op' && t.value === '...') { s += '...'; k++; continue; }
      if (t.type === 'name' && t.value !== 'import' && t.value !== 'as' && (s === '' || s.endsWith('.'))) { s += t.value; k++; continue; }
      break;
    }
    return s;
  };
  if (first.value === 'from') {
    const module = readDotted();
    if (st[k]?.value !== 'import') return;
    k++;
    for (; k < st.length; k++) {
      const t = st[k]!;
      if (t.type !== 'name') continue;
      let local = t.value;
      if (st[k + 1]?.value === 'as' && st[k + 2]?.type === 'name') { local = st[k + 2]!.value; k += 2; }
      out.push({ local, module, name: t.value, line: t.line, col: t.col, stmtLine: first.line, stmtEndLine: endLine });
    }
    return;
  }
  // import a.b, c as d
  while (k < st.length) {
    const t = st[k];
    if (t?.type !== 'name') { k++; continue; }
    const module = readDotted();
    let local = module.split('.')[0]!;
    if (st[k]?.value === 'as' && st[k + 1]?.type === 'name') { local = st[k + 1]!.value; k += 2; }
    out.push({ local, module, name: null, line: t.line, col: t.col, stmtLine: first.line, stmtEndLine: endLine });
  }
}
