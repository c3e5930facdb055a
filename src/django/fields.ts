import { dotted, stringValue, type Definition, type Expr, type PyModule, type Token } from './python.js';
import type { DjangoProject } from './urls.js';

/**
 * The fields of a payload, where the code shows them: a dict literal (`{"cash": ...}`), a DRF
 * serializer's `.data` (`BalanceSerializer(snap).data`: its Meta.fields, else its declared
 * fields), or a dataclass turned into a dict (`asdict(Balance(...))`: its annotated fields).
 * Anything else is null: the caller asks rather than guesses.
 */
export interface PayloadFields {
  fields: string[];
  /** 1-based line of what showed them (the dict, or the class). */
  line: number;
  file: string;
  /** `a dict literal`, `BalanceSerializer's Meta.fields`, `the dataclass Balance`. */
  via: string;
}

/** The tokens an expression spans. */
function tokensOf(m: PyModule, e: Expr): Token[] {
  return m.tokens.filter((t) => t.start >= e.start && t.end <= e.end);
}

/** The class a name refers to in a module: defined there, or imported into it. */
async function findClass(project: DjangoProject, file: string, name: string): Promise<{ file: string; m: PyModule; cls: Definition } | null> {
  const m = await project.module(file);
  if (!m) return null;
  const local = m.defs.find((d) => d.kind === 'class' && d.name === name && d.indent === 0);
  if (local) return { file, m, cls: local };
  const imp = m.imports.find((i) => i.local === name && i.name !== null);
  if (!imp) return null;
  const target = project.index.resolve(imp.module, file);
  if (!target) return null;
  const tm = await project.module(target);
  const cls = tm?.defs.find((d) => d.kind === 'class' && d.name === imp.name && d.indent === 0);
  return tm && cls ? { file: target, m: tm, cls } : null;
}

/** The statements directly in a class's body (not in its methods or nested classes). */
function classBody(m: PyModule, cls: Definition): Token[][] {
  const end = m.defs.filter((d) => d.line > cls.line && d.indent <= cls.indent).sort((a, b) => a.line - b.line)[0]?.line ?? Infinity;
  const inside = m.statements.filter((st) => st[0]!.line > cls.line && st[0]!.line < end && st[0]!.col > cls.indent);
  const col = inside[0]?.[0]!.col;
  return inside.filter((st) => st[0]!.col === col);
}

function stringList(st: Token[]): string[] | null {
  // `fields = ["a", "b"]` or `fields = ("a", "b")`: every token after `=` a string or punctuation.
  // `fields = "__all__"` (every model field) is not a list this reader can name: null, asked.
  const rest = st.slice(2);
  if (rest[0]?.value !== '[' && rest[0]?.value !== '(') return null;
  if (!rest.length || !rest.every((t) => t.type === 'string' || (t.type === 'op' && '[](),'.includes(t.value)))) return null;
  const out = rest.filter((t) => t.type === 'string').map((t) => t.value);
  return out.length ? out : null;
}

/** A serializer's fields: `class Meta: fields = [...]`, else its declared `x = serializers.Y(...)`. */
function serializerFields(m: PyModule, cls: Definition): string[] | null {
  const meta = m.defs.find((d) => d.kind === 'class' && d.name === 'Meta' && d.line > cls.line && d.indent > cls.indent
    && !m.defs.some((x) => x.line > cls.line && x.line < d.line && x.indent <= cls.indent));
  if (meta) {
    const st = classBody(m, meta).find((s) => s[0]!.value === 'fields' && s[1]?.value === '=');
    if (st) return stringList(st);
  }
  const declared = classBody(m, cls)
    .filter((st) => st[0]!.type === 'name' && st[1]?.value === '=' && st.slice(2).some((t) => t.type === 'name' && /Field$|^serializers$/.test(t.value)))
    .map((st) => st[0]!.value);
  return declared.length ? declared : null;
}

/** A dataclass's (or any annotated class's) fields: `name: type` and `name: type = default` in its body. */
function annotatedFields(m: PyModule, cls: Definition): string[] | null {
  const out = classBody(m, cls)
    .filter((st) => st[0]!.type === 'name' && st[1]?.type === 'op' && st[1].value === ':' && !st.some((t) => t.value === 'ClassVar'))
    .map((st) => st[0]!.value);
  return out.length ? out : null;
}

/**
 * The fields of a payload expression in `file`. `within` (0-based lines) bounds where a local
 * `serializer = X(...)` assignment is looked for (the enclosing function).
 */
export async function payloadFields(project: DjangoProject, file: string, e: Expr, within?: { from: number; to: number }): Promise<PayloadFields | null> {
  if (e.t === 'dict') {
    const fields = e.entries.map((en) => stringValue(en.key)).filter((k): k is string => k !== null);
    return fields.length ? { fields, line: e.line + 1, file, via: 'a dict literal' } : null;
  }
  const m = await project.module(file);
  if (!m) return null;
  // asdict(Balance(...)) / dataclasses.asdict(...)
  if (e.t === 'call' && /(?:^|\.)asdict$/.test(dotted(e.callee) ?? '') && e.args[0]?.t === 'call') {
    const name = dotted(e.args[0].callee);
    const found = name && !name.includes('.') ? await findClass(project, file, name) : null;
    const fields = found ? annotatedFields(found.m, found.cls) : null;
    return found && fields ? { fields, line: found.cls.line + 1, file: found.file, via: `the dataclass ${name}` } : null;
  }
  // BalanceSerializer(snap).data, or serializer.data after `serializer = BalanceSerializer(snap)`.
  const toks = tokensOf(m, e);
  const n = toks.length;
  if (n < 3 || toks[n - 1]!.value !== 'data' || toks[n - 2]!.value !== '.') return null;
  let className: string | null = null;
  if (toks[0]!.type === 'name' && toks[1]?.value === '(') className = toks[0]!.value;
  else if (n === 3 && toks[0]!.type === 'name' && within) {
    const local = toks[0]!.value;
    const st = m.statements.find((s) => s[0]!.line >= within.from && s[0]!.line <= within.to && s[0]!.value === local && s[1]?.value === '=' && s[2]?.type === 'name' && s[3]?.value === '(');
    className = st ? st[2]!.value : null;
  }
  if (!className) return null;
  const found = await findClass(project, file, className);
  const fields = found ? serializerFields(found.m, found.cls) : null;
  return found && fields ? { fields, line: found.cls.line + 1, file: found.file, via: `the serializer ${className}` } : null;
}
