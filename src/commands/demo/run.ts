import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExitCode } from '../../errors.js';
import type { IO, Writable } from '../../io.js';
import { formatDuration, printJson } from '../../output/format.js';
import { loadConfig } from '../../config/load.js';
import { inProcessStore, openStore } from '../../store/index.js';
import { RedisFlagStore } from '../../store/redis.js';
import type { FlagStore } from '../../store/types.js';
import type { Simulator } from '../../sim/index.js';
import type { CommandContext } from '../context.js';
import type { DemoOptions } from './command.js';

interface Step {
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

/** Rehearsal timing: `--fast` for CI, the default for a person watching. */
const PACE = {
  normal: { speed: 10, sessionOpen: '60s', sessionClosed: '20s', parity: '6s', shadowWindow: '40s', jitter: null },
  // At 20x the intraday beat is 50 ms: a busy CI machine's scheduling delays alone exceed
  // that, so the fast pace allows more timer jitter (shown in the printed commands).
  fast: { speed: 20, sessionOpen: '40s', sessionClosed: '6s', parity: '3s', shadowWindow: '40s', jitter: '100ms' },
};

/** Forward another command's output to ours, indented, so the demo reads as one transcript. */
function indented(target: Writable): Writable & { flush(): void } {
  let pending = '';
  return {
    write(chunk: string) {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) target.write(`    ${line}\n`);
      return true;
    },
    flush() {
      if (pending) target.write(`    ${pending}\n`);
      pending = '';
    },
  };
}

export async function runDemo(ctx: CommandContext, opts: DemoOptions): Promise<number> {
  const { io, out } = ctx;
  const pace = opts.fast ? PACE.fast : PACE.normal;
  const s = out.style;
  const w = (line = '') => { if (out.format !== 'json') io.stdout.write(line + '\n'); };

  // Where the flags live: a Redis the user configured (under a throw-away prefix, never
  // the real one), else the in-process store shared by every command this demo runs.
  const redisUrl = (ctx.opts.redis as string | undefined) ?? (io.env.THOR_CUTOVER_REDIS_URL || undefined);
  const storeUrl = redisUrl ?? `memory://demo-${randomBytes(4).toString('hex')}`;
  const prefix = `{thor:demo:${randomBytes(4).toString('hex')}}`;
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(io.env)) if (!k.startsWith('WS_FEATURE_') && !k.startsWith('THOR_CUTOVER_')) env[k] = v;
  Object.assign(env, { THOR_CUTOVER_REDIS_URL: storeUrl, THOR_CUTOVER_PREFIX: prefix, THOR_CUTOVER_ACTOR: 'demo' });

  const { startSimulator, parseFault } = await import('../../sim/index.js');
  const { copySampleBackend, applySampleCleanup } = await import('../../sim/sample-backend.js');
  // Every step runs inside a copy of the sample backend, with its config (the runbook's
  // features plus the sample's audit patterns): a config in the user's directory is not read.
  const sample = await copySampleBackend();
  const config = loadConfig({ cwd: sample.dir, env });

  let store: FlagStore;
  if (redisUrl) store = await openStore(config, { oneShot: false });
  else store = inProcessStore(storeUrl);

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
    const simulator = sim;
    const speed = ['--speed', String(pace.speed), ...(pace.jitter ? ['--jitter', pace.jitter] : [])];
    w(s.bold('thor-cutover demo: the WebSocket cutover runbook, rehearsed end to end'));
    w(s.dim(`working in a copy of the sample backend: ${sample.dir}`));
    w(s.dim(`simulator on ${sim.url} at ${pace.speed}x speed (sessions ${pace.sessionOpen} open / ${pace.sessionClosed} closed, rehearsal time); flags in ${store.description}${redisUrl ? ` under ${prefix}` : ''}`));

    const steps: Step[] = [
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
        before: async () => { simulator.setFaults([parseFault('drift=positions:2')]); },
        after: async () => { simulator.setFaults([]); } },
      { title: 'Roll back', why: 'Runbook rollback plan: the same kind of write, audited, live.',
        args: ['disable', 'account_balance', '--reason', 'rollback drill'], expect: 0 },
      { title: 'Who changed what, and why', why: 'The audit stream, newest first.', args: ['history'], expect: 0 },
      { title: 'Leftovers in the backend tree', why: 'Runbook 3.4 and phase 4: REST timers, views, routes (positions is mounted through include() with a view named positions_view) and the frontend pollers that call them; the docs that name the jobs are listed as mentions and do not fail.',
        args: ['audit', '--all'], expect: 1 },
      { title: 'After the cleanup', why: 'The sample with its REST timers, views, routes and pollers deleted: nothing of the REST path remains (the docs still mention it, and do not fail).',
        args: ['audit', '--all'], expect: 0,
        before: async () => { await applySampleCleanup(sample.dir, 'complete'); } },
    ];

    stepCount = steps.length;
    const { main } = await import('../../cli.js');
    for (const [i, step] of steps.entries()) {
      if (io.interrupted.aborted) break;
      w();
      w(`${s.bold(`── ${i + 1}/${steps.length} ${step.title}`)}`);
      w(s.dim(`   ${step.why}`));
      w(`   $ thor-cutover ${step.args.map(quote).join(' ')}`);
      await step.before?.();
      const t0 = performance.now();
      const stdout = indented(out.format === 'json' ? { write: () => true } : io.stdout);
      const inner: IO = {
        stdout, stderr: stdout, stdoutIsTTY: io.stdoutIsTTY && out.format !== 'json', stderrIsTTY: false,
        env, cwd: sample.dir, interrupted: io.interrupted,
      };
      const code = await main(step.args, inner);
      stdout.flush();
      await step.after?.();
      const outcome: StepOutcome = {
        n: i + 1, title: step.title, command: `thor-cutover ${step.args.map(quote).join(' ')}`,
        expected: step.expect, exitCode: code, ok: code === step.expect, ms: performance.now() - t0,
      };
      outcomes.push(outcome);
      w(outcome.ok
        ? `   ${s.ok(s.glyph.pass)} exit ${code}, as expected ${s.dim(`(${formatDuration(outcome.ms)})`)}`
        : `   ${s.bad(s.glyph.fail)} exit ${code}, expected ${step.expect}`);
      if (!outcome.ok) break;
    }
  } finally {
    await sim?.close();
    await sample.remove();
    // The demo's keys in a real Redis are throw-away: remove them, whatever happened.
    if (store instanceof RedisFlagStore) {
      await store.dropPrefix(config.features.map((f) => f.name))
        .catch((err: Error) => io.stderr.write(`warning: could not remove the demo's keys under ${prefix}: ${err.message}\n`));
    }
    await store.close();
  }

  const report = existsSync(reportPath) ? reportPath : null;
  const failed = outcomes.find((o) => !o.ok);
  const interrupted = io.interrupted.aborted;
  const code = interrupted ? ExitCode.INTERRUPTED : failed || outcomes.length < stepCount ? ExitCode.FAILED : ExitCode.OK;
  if (out.format === 'json') {
    printJson(out, 'demo', { ok: code === ExitCode.OK, steps: outcomes, report, seconds: (performance.now() - started) / 1000 });
  } else {
    w();
    if (code === ExitCode.OK) {
      w(s.ok(`${s.glyph.pass} demo passed: ${outcomes.length} steps behaved as expected in ${formatDuration(performance.now() - started)}`));
      if (report) w(`the drift step's HTML report (charts, each mismatch's diff): ${report}`);
      w('next: point it at your backend: thor-cutover doctor --url http://thor:8000   (see README, "Quickstart")');
    } else if (failed) {
      io.stderr.write(`error: demo step ${failed.n} "${failed.title}" exited ${failed.exitCode}, expected ${failed.expected}\n`);
      io.stderr.write(`hint: rerun it alone: ${failed.command}\n`);
    } else if (interrupted) {
      io.stderr.write('demo interrupted\n');
    }
  }
  return code;
}

function parseMs(d: string): number {
  const n = Number(d.replace(/s$/, ''));
  return n * 1000;
}

function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}
