import type { Token } from './python-tokens.js';

/** Python expressions, read from a statement's tokens (see python.ts). */

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
