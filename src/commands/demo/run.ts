import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExitCode } from '../../errors.js';
import type { IO, Writable } from '../../io.js';
import { loadConfig } from '../../config/load.js';
import type { Config } from '../../config/types.js';
import { inProcessStore, openStore } from '../../store/index.js';
import { RedisFlagStore } from '../../store/redis.js';
import type { FlagStore } from '../../store/types.js';
import type { Simulator } from '../../sim/index.js';
import type { CommandContext, RunCommand } from '../context.js';

export interface DemoOptions {
  fast?: boolean;
  json?: boolean;
}

export interface Step {
  title: string;
  /** What the runbook says here, in one or two lines. */
  why: string;
  args: string[];
  /** The exit code this step should end with. */
  expect: number;
  before?: () => Promise<void>;
  after?: () => Promise<void>;
}

export interface StepOutcome {
  n: number;
  title: string;
  command: string;
  expected: number;
  exitCode: number;
  ok: boolean;
  ms: number;
}

export interface DemoSetting {
  sampleDir: string;
  simUrl: string;
  speed: number;
  sessionOpen: string;
  sessionClosed: string;
  store: string;
  /** The throw-away prefix, when the flags are in a real Redis. */
  prefix: string | null;
}

/** What the demo tells as it goes (render.ts prints it). */
export interface DemoEvents {
  started(s: DemoSetting): void;
  step(n: number, of: number, step: Step, command: string): void;
  /** Where the step's own output goes (the demo's transcript). */
  stepOutput(): Writable & { flush(): void };
  stepDone(o: StepOutcome): void;
  warn(text: string): void;
}

export interface DemoReport {
  ok: boolean;
  exitCode: number;
  steps: StepOutcome[];
  /** The drift step's HTML report, the thing to open afterwards. */
  report: string | null;
  seconds: number;
  failed: StepOutcome | null;
  interrupted: boolean;
}

/** Rehearsal timing: `--fast` for CI, the default for a person watching. */
const PACE = {
  normal: { speed: 10, sessionOpen: '60s', sessionClosed: '20s', parity: '6s', shadowWindow: '40s', jitter: null },
  // At 20x the intraday beat is 50 ms: a busy CI machine's scheduling delays alone exceed
  // that, so the fast pace allows more timer jitter (shown in the printed commands).
  fast: { speed: 20, sessionOpen: '40s', sessionClosed: '6s', parity: '3s', shadowWindow: '40s', jitter: '100ms' },
};
type Pace = typeof PACE.normal | typeof PACE.fast;

/**
 * Where the flags live: a Redis the user configured (under a throw-away prefix, never the
 * real one), else the in-process store shared by every command this demo runs. The commands
 * see none of the user's THOR_CUTOVER_* or WS_FEATURE_* variables.
 */
function demoEnv(ctx: CommandContext): { env: NodeJS.ProcessEnv; redisUrl: string | undefined; storeUrl: string; prefix: string } {
  const { io } = ctx;
  // A Redis the user named (--redis or THOR_CUTOVER_REDIS_URL; their config file is not read here).
  const named = ctx.config.sources['redis.url'];
  const redisUrl = named === 'flag' || named === 'env' ? ctx.config.redis.url : undefined;
  const storeUrl = redisUrl ?? `memory://demo-${randomBytes(4).toString('hex')}`;
  const prefix = `{thor:demo:${randomBytes(4).toString('hex')}}`;
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(io.env)) if (!k.startsWith('WS_FEATURE_') && !k.startsWith('THOR_CUTOVER_')) env[k] = v;
  Object.assign(env, { THOR_CUTOVER_REDIS_URL: storeUrl, THOR_CUTOVER_PREFIX: prefix, THOR_CUTOVER_ACTOR: 'demo' });
  return { env, redisUrl, storeUrl, prefix };
}

/** The runbook, step by step, as the commands a person would type. */
function demoSteps(pace: Pace, sim: Simulator, reportPath: string, cleanup: () => Promise<void>, parseFault: typeof import('../../sim/index.js').parseFault): Step[] {
  const speed = ['--speed', String(pace.speed), ...(pace.jitter ? ['--jitter', pace.jitter] : [])];
  return [
    { title: 'Where are we?', why: 'Runbook 2.1: every feature starts on REST (shadow mode).', args: ['status'], expect: 0 },
    { title: 'The cutover map, read from the backend\'s code', why: 'Routes through include(), the views they name, the WS types the code sends, the REST timers: each checked against the config (nothing is run).',
      args: ['init', '--dry-run'], expect: 0 },
    { title: 'Is the code consistent with itself?', why: 'A broadcast type no consumer handles makes Channels close every socket with 1011: the sample has one.',
      args: ['init', '--check'], expect: 1 },
    { title: 'Does every feature stream while its flag is off?', why: 'Runbook 2.2: in shadow mode the backend broadcasts everything; check each message type arrives on time.',
      args: ['verify', '--shadow', '--session-length', pace.shadowWindow, ...speed], expect: 0 },
    { title: 'Do WS and REST agree?', why: 'Runbook 2.3: "should match exactly": every interval and every payload, side by side.',
      args: ['parity', '--duration', pace.parity, ...speed], expect: 0 },
    { title: 'Cut over the first feature', why: 'Runbook 3.1: no env var, no restart: the backend picks the flag up within a second.',
      args: ['enable', 'account_balance', '--reason', 'week 1 cutover'], expect: 0 },
    { title: 'Verify it over two market sessions', why: 'Runbook 3.2-3.3: the checklist, over full sessions (one under way at start does not count).',
      args: ['verify', 'account_balance', '--sessions', '2', '--max-wait', '10m', ...speed], expect: 0 },
    { title: 'A fault: positions drift on the WebSocket', why: 'Injected in the simulator: every 2nd positions message carries a wrong value. parity must catch it.',
      args: ['parity', 'positions', '--duration', pace.parity, ...speed, '--report', reportPath], expect: 1,
      before: async () => { sim.setFaults([parseFault('drift=positions:2')]); },
      after: async () => { sim.setFaults([]); } },
    { title: 'Roll back', why: 'Runbook rollback plan: the same kind of write, audited, live.',
      args: ['disable', 'account_balance', '--reason', 'rollback drill'], expect: 0 },
    { title: 'Who changed what, and why', why: 'The audit stream, newest first.', args: ['history'], expect: 0 },
    { title: 'Leftovers in the backend tree', why: 'Runbook 3.4 and phase 4: REST timers, views, routes (positions is mounted through include() with a view named positions_view) and the frontend pollers that call them; the docs that name the jobs are listed as mentions and do not fail.',
      args: ['audit', '--all'], expect: 1 },
    { title: 'After the cleanup', why: 'The sample with its REST timers, views, routes and pollers deleted: nothing of the REST path remains (the docs still mention it, and do not fail).',
      args: ['audit', '--all'], expect: 0, before: cleanup },
  ];
}

/** One step: the real command, in the sample's folder, its output into the transcript. */
async function runStep(n: number, steps: Step[], run: RunCommand, io: IO, env: NodeJS.ProcessEnv, cwd: string, events: DemoEvents, quiet: boolean): Promise<StepOutcome> {
  const step = steps[n - 1]!;
  const command = `thor-cutover ${step.args.map(quote).join(' ')}`;
  events.step(n, steps.length, step, command);
  await step.before?.();
  const t0 = performance.now();
  const stdout = events.stepOutput();
  const inner: IO = { stdout, stderr: stdout, stdoutIsTTY: io.stdoutIsTTY && !quiet, stderrIsTTY: false, env, cwd, interrupted: io.interrupted };
  const code = await run(step.args, inner);
  stdout.flush();
  await step.after?.();
  const outcome: StepOutcome = { n, title: step.title, command, expected: step.expect, exitCode: code, ok: code === step.expect, ms: performance.now() - t0 };
  events.stepDone(outcome);
  return outcome;
}

/** The demo's keys in a real Redis are throw-away: removed, whatever happened. */
async function dropDemoKeys(store: FlagStore, config: Config, prefix: string, events: DemoEvents): Promise<void> {
  if (store instanceof RedisFlagStore) {
    await store.dropPrefix(config.features.map((f) => f.name))
      .catch((err: Error) => events.warn(`could not remove the demo's keys under ${prefix}: ${err.message}`));
  }
  await store.close();
}

export async function runDemo(ctx: CommandContext, opts: DemoOptions, run: RunCommand, events: DemoEvents): Promise<DemoReport> {
  const { io } = ctx;
  const pace = opts.fast ? PACE.fast : PACE.normal;
  const { env, redisUrl, storeUrl, prefix } = demoEnv(ctx);
  const { startSimulator, parseFault } = await import('../../sim/index.js');
  const { copySampleBackend, applySampleCleanup } = await import('../../sim/sample-backend.js');
  // Every step runs inside a copy of the sample backend, with its config (the runbook's
  // features plus the sample's audit patterns): a config in the user's directory is not read.
  const sample = await copySampleBackend();
  const config = loadConfig({ cwd: sample.dir, env });
  const store = redisUrl ? await openStore(config, { oneShot: false }) : inProcessStore(storeUrl);
  // The drift step's HTML report outlives the demo's folders: it is the thing to open afterwards.
  const reportPath = join(tmpdir(), `thor-cutover-demo-${randomBytes(4).toString('hex')}-parity.html`);
  const started = performance.now();
  let sim: Simulator | undefined;
  const outcomes: StepOutcome[] = [];
  let stepCount = Infinity;
  try {
    sim = await startSimulator({
      config, port: 0, speed: pace.speed, seed: 7, store, env,
      sessionOpenMs: parseMs(pace.sessionOpen), sessionClosedMs: parseMs(pace.sessionClosed),
    });
    env.THOR_CUTOVER_URL = sim.url;
    events.started({ sampleDir: sample.dir, simUrl: sim.url, speed: pace.speed, sessionOpen: pace.sessionOpen, sessionClosed: pace.sessionClosed, store: store.description, prefix: redisUrl ? prefix : null });
    const steps = demoSteps(pace, sim, reportPath, () => applySampleCleanup(sample.dir, 'complete'), parseFault);
    stepCount = steps.length;
    for (let n = 1; n <= steps.length && !io.interrupted.aborted; n++) {
      const outcome = await runStep(n, steps, run, io, env, sample.dir, events, ctx.out.format === 'json');
      outcomes.push(outcome);
      if (!outcome.ok) break;
    }
  } finally {
    await sim?.close();
    await sample.remove();
    await dropDemoKeys(store, config, prefix, events);
  }
  const failed = outcomes.find((o) => !o.ok) ?? null;
  const interrupted = io.interrupted.aborted;
  const exitCode = interrupted ? ExitCode.INTERRUPTED : failed || outcomes.length < stepCount ? ExitCode.FAILED : ExitCode.OK;
  const report = existsSync(reportPath) ? reportPath : null;
  return { ok: exitCode === ExitCode.OK, exitCode, steps: outcomes, report, seconds: (performance.now() - started) / 1000, failed, interrupted };
}

function parseMs(d: string): number {
  const n = Number(d.replace(/s$/, ''));
  return n * 1000;
}

function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}
