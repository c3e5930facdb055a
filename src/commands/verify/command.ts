import { Option, type Command } from 'commander';
import { metricsOptions, type MetricsFlags } from '../../metrics/index.js';
import { makeOutput } from '../../output/format.js';
import type { SeriesSnapshot } from '../../stream/series.js';
import type { EngineSnapshot } from '../../stream/types.js';
import type { CommandContext } from '../context.js';
import { type Register, action, backendOptions, durationArg, intArg, positiveNumber } from '../register.js';

const VERIFY_HELP = `
Checklist (each item per session and overall, thresholds from the config's thresholds):
  a) interval    p95 inter-arrival within tolerance, missed beats under the limit
                 (event-driven features: REST changes reach WS within the staleness limit)
  b) fields      every required field in every message, no type changes
  c) values      REST and WS agree (the parity rule), mismatch rate within the allowed rate;
                 states WS skipped (REST showed one WS never carried, between two it did)
                 fail only past thresholds.maxSkippedRate (default 1%)
  d) errors      no error_message, no malformed frames, no REST errors
  e) connection  reconnects within the limit, no gap longer than one interval; repeated
                 closes are explained (a type the consumer has no handler for: close 1011)
  f) scoping     with a token configured: account features never reach a socket without it
Precondition: each feature's flag is on (off with --shadow) in Redis and in the backend's
heartbeat for the whole session; a change under the run fails that session, naming when
and where it came from (an event, or a store that lost its keys).

Verdicts: pass (exit 0), fail (1: at the first failed session, unless --keep-going), could
not run (2: no backend, or the backend refused the token: 4401/4403 close, 401/403
handshake), inconclusive (3: too few messages, or not all sessions seen before
--max-wait). Ctrl-C prints what was seen and exits 130.
Every finished run is recorded in Redis; \`status\` shows it, and \`enable\` of the next
feature requires a passing verify of the previous one since it was enabled.

Examples:
  $ thor-cutover verify account_balance --sessions 2
  $ thor-cutover verify --sessions 2                      # every feature that is on
  $ thor-cutover verify --shadow --session-length 10m     # all features stream while flags are off
  $ thor-cutover verify positions --junit verify.xml --json verify.json   # in CI
  $ thor-cutover verify positions --report verify.html    # charts for the people who sign off
  $ thor-cutover verify --sessions 2 --metrics 127.0.0.1:9464             # Prometheus scrapes /metrics`;

export const register: Register = (program: Command, io, setExit) => {
  const cmd = program
    .command('verify [features...]')
    .description('the runbook\'s step 3.3 checklist over N market sessions: a verdict for people, the enable gate and CI')
    .option('--sessions <n>', 'complete market sessions (or windows) to observe; one under way at start does not count', intArg('--sessions', 1), 1)
    .option('--session-length <duration>', 'fixed windows of this length instead of market sessions (backends without market_status)', durationArg('--session-length'))
    .option('--max-wait <duration>', 'give up after this long (real time): inconclusive if the sessions were not all seen', durationArg('--max-wait'))
    .option('--speed <n>', 'rehearsal speed: divides every interval and session length (match thor-cutover simulate --speed)', positiveNumber('--speed'), 1)
    .option('--jitter <duration>', 'timer jitter allowed on every interval boundary, real time (default 25ms; raise it for high --speed on a busy machine)', durationArg('--jitter'))
    .option('--shadow', 'runbook phase 2: check every feature streams while its flag is off')
    .option('--keep-going', 'keep watching after a session fails (default: stop there, the verdict cannot change)')
    .option('--report <file>', 'write an HTML report with charts (one self-contained file): checklist, intervals, mismatches, REST')
    .option('--junit <file>', 'write JUnit XML: one testcase per checklist item per session')
    .option('--json [file]', 'the report as one JSON document (with schemaVersion): to FILE, or to stdout without one')
    .option('--actor <name>', 'who ran it, recorded with the verdict (default: THOR_CUTOVER_ACTOR, else user@host)')
    .addOption(new Option('--record-timeout <duration>', 'how long to retry recording the verdict if Redis is away at the end').argParser(durationArg('--record-timeout')).default(60_000, '60s'))
    .addHelpText('after', VERIFY_HELP);
  backendOptions(cmd);
  metricsOptions(cmd);
  cmd.action(action(io, setExit, verifyAction));
};

/** Options to run options, the run with its progress and notes, then the report, JUnit, JSON and HTML. */
async function verifyAction(ctx: CommandContext, features: string[]): Promise<number> {
  const { runVerify } = await import('./run.js');
  const { printVerify, progressLine, progressWriter, startedLine } = await import('./render.js');
  const o = ctx.opts as {
    sessions: number; sessionLength?: number; maxWait?: number; speed: number; shadow?: boolean; junit?: string;
    json?: boolean | string; actor?: string; recordTimeout: number; color?: boolean; jitter?: number; keepGoing?: boolean; report?: string;
    metrics?: MetricsFlags['metrics']; metricsHold?: number;
  };
  const html = o.report ? await (await import('../../report/write.js')).reportTarget(ctx.io.cwd, o.report) : null;
  let series: { s: SeriesSnapshot; snap: EngineSnapshot } | undefined;
  let jsonFile: string | undefined;
  // `--json positions` reads as the feature, not a file named "positions".
  if (typeof o.json === 'string') {
    if (ctx.config.features.some((f) => f.name === o.json)) features = [...features, o.json];
    else jsonFile = o.json;
  }
  const out = await makeOutput(ctx.io, { json: o.json !== undefined && jsonFile === undefined, color: o.color });
  const bar = progressWriter(out);
  const report = await runVerify(ctx, {
    features,
    sessions: o.sessions,
    sessionLengthMs: o.sessionLength ?? null,
    maxWaitMs: o.maxWait ?? null,
    speed: o.speed,
    jitterMs: o.jitter ?? null,
    shadow: Boolean(o.shadow),
    actor: o.actor,
    recordTimeoutMs: o.recordTimeout,
    keepGoing: Boolean(o.keepGoing),
    metrics: o.metrics,
    metricsHold: o.metricsHold,
  }, {
    started: (i) => bar.note(startedLine(i)),
    progress: out.progress ? (p) => bar.show(progressLine(p, ctx.config.market.country)) : undefined,
    note: (text) => bar.note(text),
    series: html ? (s, snap) => { series = { s, snap }; } : undefined,
  }).finally(() => bar.clear());
  const code = await printVerify(out, report, { jsonFile, junitFile: o.junit });
  if (!html || !series) return code;
  const [{ writeReport }, { verifyDocument }] = await Promise.all([import('../../report/write.js'), import('./report.js')]);
  return writeReport(out, html, verifyDocument(report, series.s, series.snap, ctx.config), code);
}
