import { Option, type Command } from 'commander';
import { metricsOptions, type MetricsFlags } from '../../metrics/index.js';
import { type Register, action, backendOptions, durationArg, jsonOption, positiveNumber } from '../register.js';

export const register: Register = (program: Command, io, setExit) => {
  const cmd = program
    .command('monitor [features...]')
    .description('runs until stopped and records each market session\'s checklist verdict when the session ends (the service behind `gate`)')
    .option('--shadow', 'runbook phase 2: watch every feature while its flag is off')
    .option('--session-length <duration>', 'fixed windows of this length instead of market sessions (backends without market_status)', durationArg('--session-length'))
    .option('--speed <n>', 'rehearsal speed: divides every interval and session length (match thor-cutover simulate --speed)', positiveNumber('--speed'), 1)
    .option('--jitter <duration>', 'timer jitter allowed on every interval boundary, real time (default 25ms)', durationArg('--jitter'))
    .option('--actor <name>', 'recorded with each verdict (default: THOR_CUTOVER_ACTOR, else user@host)')
    .addOption(new Option('--record-timeout <duration>', 'how long to retry recording a session if Redis is away when it ends').argParser(durationArg('--record-timeout')).default(60_000, '60s'))
    .addHelpText('after', `
Each complete session is judged with verify's checklist (a-e; scoping is verify's) and
recorded in <prefix>:verify:<feature> when it ends, one record per feature: \`gate\` and
\`enable\` read them. Killed (SIGKILL included) and started again, it resumes: sessions
recorded earlier stay, the session under way at the restart is partial and not counted.
SIGTERM or Ctrl-C records the open session as partial (never counted) and exits 0.
While it runs, a heartbeat key says so (\`status\` shows it), and a flag store that
forgets (FLUSHALL, a restart without persistence) is reported on stderr within a second.

Examples:
  $ thor-cutover monitor                               # every feature that is on
  $ thor-cutover monitor --metrics 127.0.0.1:9464      # and Prometheus scrapes it
  $ thor-cutover gate positions --sessions 2           # in CI, against what it recorded`);
  backendOptions(cmd);
  metricsOptions(cmd);
  jsonOption(cmd, 'a summary when it stops');
  cmd.action(action(io, setExit, async (ctx, features) => {
    const { runMonitor } = await import('./run.js');
    const { printMonitor, printNote } = await import('./render.js');
    const o = ctx.opts as unknown as { shadow?: boolean; sessionLength?: number; speed: number; jitter?: number; actor?: string; recordTimeout: number } & MetricsFlags;
    const report = await runMonitor(ctx, {
      features, shadow: Boolean(o.shadow), sessionLengthMs: o.sessionLength ?? null, speed: o.speed, jitterMs: o.jitter ?? null,
      actor: o.actor, recordTimeoutMs: o.recordTimeout, metrics: o.metrics, metricsHold: o.metricsHold,
    }, { note: (t) => printNote(ctx.io, t) });
    return printMonitor(ctx.out, report);
  }));
};
