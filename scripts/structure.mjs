#!/usr/bin/env node
// The structure rules of ARCHITECTURE.md, checked: no file in src/ over 400 lines, no function over 80,
// no import cycle, no import from one command folder into another or up into cli.ts, and every command
// folder with command.ts, run.ts and render.ts. Prints one line per problem; exit 1 if any.
//   node scripts/structure.mjs [--json]
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { join, dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export const MAX_FILE_LINES = 400;
export const MAX_FUNCTION_LINES = 80;
export const COMMAND_FILES = ['command.ts', 'run.ts', 'render.ts'];

function walk(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

function functionName(node, sf) {
  if (node.name) return node.name.getText(sf);
  const parent = node.parent;
  if (parent && ts.isVariableDeclaration(parent)) return parent.name.getText(sf);
  if (parent && ts.isPropertyAssignment(parent)) return parent.name.getText(sf);
  if (parent && ts.isPropertyDeclaration(parent)) return parent.name.getText(sf);
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  return '(anonymous)';
}

function isFunctionLike(node) {
  return ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node) || ts.isArrowFunction(node) ||
    ts.isFunctionExpression(node) || ts.isConstructorDeclaration(node) || ts.isGetAccessor(node) || ts.isSetAccessor(node);
}

function resolveImport(from, spec) {
  if (!spec.startsWith('.')) return undefined;
  const base = resolve(dirname(from), spec).replace(/\.js$/, '');
  for (const cand of [base + '.ts', join(base, 'index.ts')]) if (existsSync(cand)) return cand;
  return undefined;
}

export function checkStructure(root) {
  const src = join(root, 'src');
  const files = walk(src);
  const problems = [];
  const graph = new Map();
  for (const file of files) {
    const rel = relative(root, file);
    const text = readFileSync(file, 'utf8');
    const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
    if (lines > MAX_FILE_LINES) problems.push({ rule: 'file-lines', file: rel, line: 1, message: `${lines} lines (max ${MAX_FILE_LINES})` });
    const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
    const deps = [];
    const visit = (node) => {
      if (isFunctionLike(node) && node.body) {
        const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
        const end = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
        const n = end - start + 1;
        if (n > MAX_FUNCTION_LINES) problems.push({ rule: 'function-lines', file: rel, line: start + 1, message: `${functionName(node, sf)} is ${n} lines (max ${MAX_FUNCTION_LINES})` });
      }
      if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
        const typeOnly = ts.isImportDeclaration(node) ? !!node.importClause?.isTypeOnly : node.isTypeOnly;
        const target = resolveImport(file, node.moduleSpecifier.text);
        if (target) deps.push({ target, line: sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1, typeOnly });
      }
      if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteral(node.arguments[0])) {
        const target = resolveImport(file, node.arguments[0].text);
        if (target) deps.push({ target, line: sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1, typeOnly: false, dynamic: true });
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
    graph.set(file, deps);
    const cmd = commandOf(root, file);
    for (const d of deps) {
      const targetRel = relative(root, d.target);
      const other = commandOf(root, d.target);
      if (cmd && other && cmd !== other) problems.push({ rule: 'cross-command', file: rel, line: d.line, message: `commands/${cmd} imports ${targetRel}` });
      if (targetRel === 'src/cli.ts') problems.push({ rule: 'import-cli', file: rel, line: d.line, message: 'imports src/cli.ts (cli.ts is the top; nothing imports it)' });
    }
  }
  for (const cycle of findCycles(graph)) {
    const names = cycle.map((f) => relative(root, f));
    problems.push({ rule: 'cycle', file: names[0], line: 1, message: `import cycle: ${names.join(' -> ')} -> ${names[0]}` });
  }
  const commandsDir = join(src, 'commands');
  for (const name of readdirSync(commandsDir)) {
    const dir = join(commandsDir, name);
    if (!statSync(dir).isDirectory()) continue;
    for (const f of COMMAND_FILES) {
      if (!existsSync(join(dir, f))) problems.push({ rule: 'command-shape', file: `src/commands/${name}`, line: 0, message: `has no ${f}` });
    }
  }
  return problems;
}

function commandOf(root, file) {
  const m = /^src\/commands\/([^/]+)\//.exec(relative(root, file));
  return m ? m[1] : undefined;
}

// Tarjan's strongly connected components; every component of more than one file (or a self-import) is a cycle.
function findCycles(graph) {
  let index = 0;
  const idx = new Map(), low = new Map(), onStack = new Set(), stack = [], cycles = [];
  const strong = (v) => {
    idx.set(v, index); low.set(v, index); index++; stack.push(v); onStack.add(v);
    for (const { target: w } of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!idx.has(w)) { strong(w); low.set(v, Math.min(low.get(v), low.get(w))); }
      else if (onStack.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const comp = [];
      let w;
      do { w = stack.pop(); onStack.delete(w); comp.push(w); } while (w !== v);
      if (comp.length > 1 || (graph.get(v) ?? []).some((d) => d.target === v)) cycles.push(comp.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) strong(v);
  return cycles;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const problems = checkStructure(root);
  if (process.argv.includes('--json')) console.log(JSON.stringify(problems, null, 2));
  else for (const p of problems) console.log(`${p.file}:${p.line}: ${p.rule}: ${p.message}`);
  if (!process.argv.includes('--json')) console.log(problems.length ? `${problems.length} problem(s)` : 'structure: no problems');
  process.exit(problems.length ? 1 : 0);
}
