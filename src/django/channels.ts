import { payloadFields, type PayloadFields } from './fields.js';
import { ModuleIndex } from './modules.js';
import { dictGet, dotted, statementExprs, stringValue, walkExpr, type Definition, type Expr, type PyModule } from './python.js';
import type { DjangoProject } from './urls.js';

/**
 * What a Django Channels project sends and handles, read statically:
 * - channel-layer events: the dicts passed to `group_send`/`send` (their `"type"` names the
 *   consumer method Channels calls: `a.b` -> `a_b`; with no such method, Channels closes the
 *   socket with 1011), through helpers that wrap it and constants passed to them;
 * - consumer handler methods (`async def x(self, event)` in a consumer class);
 * - WS messages: dict literals with a string `"type"` that are not channel-layer events (what
 *   the client receives), with their keys;
 * - legacy REST timers: `registry.register(Job(...), interval=N)` and the decorator form.
 */

export interface Where {
  file: string;
  /** 1-based. */
  line: number;
}

export interface BroadcastType extends Where {
  type: string;
  /** How the type was found: a literal, a constant, or a helper's argument. */
  via: string;
}

export interface Handler extends Where {
  consumer: string;
  method: string;
}

export interface WsMessage extends Where {
  type: string;
  fields: string[];
  /** The keys of its payload where the code shows them (a dict literal, a serializer, a dataclass), else null. */
  payloadFields: string[] | null;
  /** Where those keys were read: file:line and how (`a dict literal`, `the serializer X`). */
  payloadFrom: string | null;
  /** The function that builds it, when it is returned from one. */
  builder: string | null;
}

export interface RegisteredJob extends Where {
  job: string;
  /** The job class's `name = "..."` attribute, when it has one. */
  name: string | null;
  intervalSeconds: number | null;
  perSymbol: boolean;
  classAt: Where | null;
}

export interface Unknown extends Where {
  what: string;
}

export interface ChannelsMap {
  broadcasts: BroadcastType[];
  handlers: Handler[];
  consumers: (Where & { name: string })[];
  messages: WsMessage[];
  jobs: RegisteredJob[];
  /** What could not be determined (a type from a variable, a helper never called, ...). */
  unknowns: Unknown[];
}

const CONSUMER_BASE = /(?:^|\.)(?:Async)?(?:Json)?WebsocketConsumer$|(?:^|\.)(?:Async)?Consumer$/;
/** Consumer methods Channels itself calls: never a channel-layer handler. */
const STANDARD_METHODS = new Set(['connect', 'disconnect', 'receive', 'receive_json', 'send', 'send_json', 'close', 'accept',
  'websocket_connect', 'websocket_receive', 'websocket_disconnect', 'decode_json', 'encode_json', 'dispatch', 'group_send']);

/** Text that may hold something this reader wants: most files of a project are skipped unparsed. */
const INTERESTING = /group_send|\bsend\s*\(|["']type["']|Consumer|register/;
/** A class that may be a REST timer job. */
const JOB_CLASS = /^class\s+\w*(?:Job|Task|Poller)\b|^class\s+\w+\s*\([^)]*(?:Job|Task)/m;
const READ_CONCURRENCY = 16;

interface Parsed {
  file: string;
  m: PyModule;
}

/** The methods of a class: the defs after it, deeper than it, until the class ends. */
function methodsOf(m: PyModule, cls: Definition): Definition[] {
  const out: Definition[] = [];
  const after = m.defs.filter((d) => d.line > cls.line).sort((a, b) => a.line - b.line);
  for (const d of after) {
    if (d.indent <= cls.indent) break;
    if (d.indent === after.find((x) => x.indent > cls.indent)?.indent) out.push(d);
  }
  return out;
}

/** The def a line belongs to (the nearest def above it, deeper than nothing after it). */
function enclosingDef(m: PyModule, line: number, col: number): Definition | null {
  let best: Definition | null = null;
  for (const d of m.defs) if (d.kind === 'def' && d.line < line && d.indent < col && (!best || d.line > best.line)) best = d;
  return best;
}

export async function readChannels(project: DjangoProject): Promise<ChannelsMap> {
  const r = new ChannelsReader(project);
  await r.readFiles();
  r.readConsumers();
  await r.readSends();
  await r.readHelperCalls();
  await r.readMessages();
  r.readJobs();
  await r.readJobClasses();
  return r.out;
}

/** One reading of a project: the interesting files parsed once, then one pass per kind of fact. */
class ChannelsReader {
  readonly out: ChannelsMap = { broadcasts: [], handlers: [], consumers: [], messages: [], jobs: [], unknowns: [] };
  private readonly files: Parsed[] = [];
  /** Files that define a class named like a job: where registered jobs are looked up. */
  private readonly jobClassFiles: { file: string; text: string }[] = [];
  /** Functions that send the type they are given: their callers' arguments are the types. */
  private readonly helpers: { name: string; param: number; file: string; line: number }[] = [];
  /** Event dicts by file and offset: each pass reads statements afresh. */
  private readonly eventDicts = new Set<string>();
  private readonly classes = new Map<string, { p: Parsed; d: Definition }>();

  constructor(private readonly project: DjangoProject) {}

  /** Reads every .py file (many at once), parsing only the ones with text this reader wants. */
  async readFiles(): Promise<void> {
    const { project, files, jobClassFiles } = this;
    const py = project.source.files.filter((f) => f.endsWith('.py'));
    const texts: (string | null)[] = new Array(py.length).fill(null);
    let next = 0;
    // Read many at once: one after another, a 5,000-file tree waits on the disk for seconds.
    await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, py.length) }, async () => {
      while (next < py.length) {
        const i = next++;
        const text = await project.source.read(py[i]!);
        if (text === null) continue;
        if (INTERESTING.test(text)) texts[i] = text;
        else if (JOB_CLASS.test(text)) jobClassFiles.push({ file: py[i]!, text });
      }
    }));
    for (let i = 0; i < py.length; i++) {
      if (texts[i] !== null) files.push({ file: py[i]!, m: await project.moduleFromText(py[i]!, texts[i]!) });
    }
  }

  /** Module-level string constants, to read `{"type": POSITIONS_UPDATE}`. */
  async constant(p: Parsed, name: string, depth = 0): Promise<string | null> {
    const a = [...p.m.assignments].reverse().find((x) => x.target === name && x.op === '=');
    if (a) return stringValue(a.value);
    const imp = p.m.imports.find((x) => x.local === name && x.name !== null);
    if (!imp || depth > 2) return null;
    const file = this.project.index.resolve(ModuleIndex.absolute(imp.module, p.file), p.file);
    const m = file ? await this.project.module(file) : null;
    return m && file ? this.constant({ file, m }, imp.name!, depth + 1) : null;
  }

  /** Consumers and their handler methods (a class deriving from a consumer counts too). */
  readConsumers(): void {
    const consumerNames = new Set<string>();
    for (let pass = 0; pass < 3; pass++) {
      for (const p of this.files) {
        for (const d of p.m.defs) {
          if (d.kind !== 'class' || consumerNames.has(d.name)) continue;
          if (d.bases.some((b) => CONSUMER_BASE.test(b) || consumerNames.has(b.slice(b.lastIndexOf('.') + 1)))) consumerNames.add(d.name);
        }
      }
    }
    for (const p of this.files) {
      for (const d of p.m.defs) {
        if (d.kind !== 'class' || !consumerNames.has(d.name)) continue;
        this.out.consumers.push({ name: d.name, file: p.file, line: d.line + 1 });
        for (const meth of methodsOf(p.m, d)) {
          if (meth.kind !== 'def' || meth.name.startsWith('_') || STANDARD_METHODS.has(meth.name) || meth.params.length !== 2) continue;
          this.out.handlers.push({ consumer: d.name, method: meth.name, file: p.file, line: meth.line + 1 });
        }
      }
    }
  }

  /**
   * Channel-layer sends. A type that is a parameter of the enclosing function makes that
   * function a helper: its callers' arguments are the types.
   */
  async readSends(): Promise<void> {
    for (const p of this.files) {
      for (const st of p.m.statements) {
        if (!st.some((t) => t.value === 'group_send' || t.value === 'send')) continue;
        for (const e of statementExprs(st)) {
          for (const x of walkExpr(e)) {
            if (x.t !== 'call') continue;
            let callee = dotted(x.callee);
            // async_to_sync(channel_layer.group_send)(group, event)
            if (!callee && x.callee.t === 'call' && x.callee.args[0]) callee = dotted(x.callee.args[0]);
            if (!callee || !/(?:^|\.)(?:group_send|channel_layer\.send)$/.test(callee)) continue;
            const event = x.args[1] ?? x.kwargs.message;
            if (!event) continue;
            const at = { file: p.file, line: x.line + 1 };
            if (event.t !== 'dict') { this.out.unknowns.push({ ...at, what: `${callee}(...) sends an event built elsewhere: its "type" is not known` }); continue; }
            this.eventDicts.add(`${p.file}:${event.start}`);
            const typeExpr = dictGet(event, 'type');
            const literal = typeExpr ? stringValue(typeExpr) : null;
            if (literal !== null) { this.out.broadcasts.push({ ...at, type: literal, via: 'literal' }); continue; }
            if (typeExpr?.t === 'name' && typeExpr.parts.length === 1) {
              const name = typeExpr.parts[0]!;
              const c = await this.constant(p, name);
              if (c !== null) { this.out.broadcasts.push({ ...at, type: c, via: `constant ${name}` }); continue; }
              const fn = enclosingDef(p.m, x.line, x.col);
              const param = fn ? fn.params.indexOf(name) : -1;
              if (fn && param >= 0) { this.helpers.push({ name: fn.name, param: fn.params[0] === 'self' ? param - 1 : param, file: p.file, line: fn.line + 1 }); continue; }
            }
            this.out.unknowns.push({ ...at, what: `${callee}(...): the event's "type" is not a literal, a constant or a helper's parameter` });
          }
        }
      }
    }
  }

  async readHelperCalls(): Promise<void> {
    for (const h of this.helpers) {
      let called = false;
      for (const p of this.files) {
        for (const st of p.m.statements) {
          if (!st.some((t) => t.value === h.name)) continue;
          for (const e of statementExprs(st)) {
            for (const x of walkExpr(e)) {
              if (x.t !== 'call') continue;
              const callee = dotted(x.callee);
              if (!callee || callee.slice(callee.lastIndexOf('.') + 1) !== h.name) continue;
              const arg = x.args[h.param];
              if (!arg) continue;
              called = true;
              const at = { file: p.file, line: x.line + 1 };
              const literal = stringValue(arg);
              if (literal !== null) this.out.broadcasts.push({ ...at, type: literal, via: `${h.name}()` });
              else if (arg.t === 'name' && arg.parts.length === 1 && (await this.constant(p, arg.parts[0]!)) !== null) {
                this.out.broadcasts.push({ ...at, type: (await this.constant(p, arg.parts[0]!))!, via: `${h.name}() with constant ${arg.parts[0]}` });
              } else this.out.unknowns.push({ ...at, what: `${h.name}(...) is called with a type that is not a literal or a constant` });
            }
          }
        }
      }
      if (!called) this.out.unknowns.push({ file: h.file, line: h.line, what: `${h.name}() sends the type it is given, but no call to it was found` });
    }
  }

  /** WS messages: dict literals with a string "type" that are not channel-layer events. */
  async readMessages(): Promise<void> {
    for (const p of this.files) {
      for (const st of p.m.statements) {
        if (!st.some((t) => t.type === 'string' && t.value === 'type')) continue;
        for (const e of statementExprs(st)) {
          for (const x of walkExpr(e)) {
            if (x.t !== 'dict' || this.eventDicts.has(`${p.file}:${x.start}`)) continue;
            const typeExpr = dictGet(x, 'type');
            const type = typeExpr ? stringValue(typeExpr) ?? (typeExpr.t === 'name' && typeExpr.parts.length === 1 ? await this.constant(p, typeExpr.parts[0]!) : null) : null;
            if (type === null) continue;
            // A dict passed into an event dict (`{"type": "send_message", "message": {...}}`) is the message.
            const fields = x.entries.map((en) => stringValue(en.key)).filter((k): k is string => k !== null && k !== 'type');
            const fn = enclosingDef(p.m, x.line, x.col);
            const payload = dictGet(x, 'data') ?? dictGet(x, 'payload');
            const shown = payload ? await payloadFields(this.project, p.file, payload, fn ? { from: fn.line, to: x.line } : undefined) : null;
            this.out.messages.push({
              type, fields, payloadFields: shown?.fields ?? null, payloadFrom: shown ? `${shown.file}:${shown.line} (${shown.via})` : null,
              file: p.file, line: x.line + 1, builder: fn?.name ?? null,
            });
          }
        }
      }
    }
  }

  private indexClasses(list: Parsed[]): void {
    for (const p of list) for (const d of p.m.defs) if (d.kind === 'class' && d.indent === 0 && !this.classes.has(d.name)) this.classes.set(d.name, { p, d });
  }

  /** REST timers: registry.register(Job(...), interval=N) and @registry.register(interval=N). */
  readJobs(): void {
    this.indexClasses(this.files);
    const vars = new Map<string, string>();
    for (const p of this.files) {
      for (const st of p.m.statements) {
        // `intraday_job = IntradayJob(...)`: the variable names the job.
        if (st[0]?.type === 'name' && st[1]?.value === '=' && st[2]?.type === 'name' && st[3]?.value === '(' && /Job$|Task$|Poller$/.test(st[2].value)) vars.set(st[0].value, st[2].value);
      }
    }
    for (const p of this.files) {
      const stmts = p.m.statements;
      for (let k = 0; k < stmts.length; k++) {
        const st = stmts[k]!;
        if (!st.some((t) => t.value === 'register')) continue;
        for (const e of statementExprs(st)) {
          for (const x of walkExpr(e)) {
            if (x.t !== 'call') continue;
            const callee = dotted(x.callee);
            if (!callee || !/registry\.register\w*$/i.test(callee)) continue;
            let job: string | null = null;
            const a0 = x.args[0];
            if (a0?.t === 'call') job = dotted(a0.callee);
            else if (a0?.t === 'name') job = vars.get(a0.parts.join('.')) ?? a0.parts[a0.parts.length - 1]!;
            else if (!a0 && st[0]?.value === '@') {
              // The decorator registers the class below it.
              const next = p.m.defs.find((d) => d.kind === 'class' && d.decoratorLine <= st[0]!.line && d.line >= st[0]!.line);
              job = next?.name ?? null;
            }
            if (!job) continue;
            job = job.slice(job.lastIndexOf('.') + 1);
            const ivExpr = x.kwargs.interval ?? x.kwargs.seconds ?? x.kwargs.every ?? x.args[1];
            const iv = ivExpr ? sourceNumber(p.m, ivExpr) : null;
            const cls = this.classes.get(job);
            this.out.jobs.push({
              job, file: p.file, line: x.line + 1,
              name: cls ? classAttr(cls.p.m, cls.d, 'name') : null,
              intervalSeconds: iv !== null && Number.isFinite(iv) ? iv : null,
              perSymbol: x.kwargs.per_symbol !== undefined && dotted(x.kwargs.per_symbol) === 'True',
              classAt: cls ? { file: cls.p.file, line: cls.d.line + 1 } : null,
            });
          }
        }
      }
    }
  }

  /** The job classes live in files the first pass skipped (nothing in them is interesting text). */
  async readJobClasses(): Promise<void> {
    const missing = [...new Set(this.out.jobs.filter((j) => !this.classes.has(j.job)).map((j) => j.job))];
    if (missing.length) {
      const re = new RegExp(`^class\\s+(?:${missing.join('|')})\\b`, 'm');
      const more: Parsed[] = [];
      for (const { file, text } of this.jobClassFiles) if (re.test(text)) more.push({ file, m: await this.project.moduleFromText(file, text) });
      this.indexClasses(more);
      for (const j of this.out.jobs) {
        const cls = this.classes.get(j.job);
        if (cls && !j.classAt) { j.classAt = { file: cls.p.file, line: cls.d.line + 1 }; j.name = classAttr(cls.p.m, cls.d, 'name'); }
      }
    }
  }
}

/**
 * The keys of the dict a view returns (`Response({...})`, `JsonResponse({...})`), with the
 * line of that dict; null when the view builds its body some other way.
 */
export async function viewResponseFields(project: DjangoProject, file: string, line: number): Promise<PayloadFields | null> {
  const m = await project.module(file);
  const def = m?.defs.find((d) => d.line + 1 === line);
  if (!m || !def) return null;
  const end = m.defs.filter((d) => d.line > def.line && d.indent <= def.indent).sort((a, b) => a.line - b.line)[0]?.line ?? Infinity;
  for (const st of m.statements) {
    if (st[0]!.line <= def.line || st[0]!.line >= end) continue;
    if (!st.some((t) => t.value === 'Response' || t.value === 'JsonResponse')) continue;
    for (const e of statementExprs(st)) {
      for (const x of walkExpr(e)) {
        if (x.t !== 'call') continue;
        const callee = dotted(x.callee);
        if (!callee || !/(?:^|\.)(?:Json)?Response$/.test(callee) || !x.args[0]) continue;
        return payloadFields(project, file, x.args[0], { from: def.line, to: end });
      }
    }
  }
  return null;
}

/** A number argument's text (`10`, `1.5`), else NaN. */
function sourceNumber(m: PyModule, e: Expr): number {
  const t = m.tokens.find((x) => x.start === e.start);
  return t?.type === 'number' && t.end === e.end ? Number(t.value.replace(/_/g, '')) : NaN;
}

/** A class attribute's string value (`name = "positions"`), else null. */
function classAttr(m: PyModule, cls: Definition, attr: string): string | null {
  const body = m.statements.filter((st) => st[0]!.line > cls.line && st[0]!.col > cls.indent);
  for (const st of body) {
    const next = m.defs.find((d) => d.indent <= cls.indent && d.line > cls.line);
    if (next && st[0]!.line >= next.line) break;
    if (st[0]!.value === attr && st[1]?.value === '=' && st[2]?.type === 'string' && st.length === 3) return st[2].value;
  }
  return null;
}
