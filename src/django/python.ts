/**
 * Just enough of Python to read a Django project without running it: a tokenizer that knows
 * strings (every prefix, triple quotes, escapes), comments, brackets and logical lines, and a
 * small expression reader for the shapes URL configs, imports and definitions take.
 *
 * It never executes anything and never fails: text it cannot read becomes an `other`
 * expression, and a statement it does not know is skipped.
 */

import { statements, tokenize, type Token } from './python-tokens.js';
import { dotted, ExprReader, type Expr } from './python-expr.js';

export { statements, tokenize, type Token, type TokenType } from './python-tokens.js';
export { dictGet, dotted, ExprReader, statementExprs, stringValue, walkExpr, type Expr } from './python-expr.js';

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
