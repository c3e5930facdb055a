import { Option, type Command } from 'commander';
import { UsageError } from '../../errors.js';
import { metricsOptions } from '../../metrics/index.js';
import type { SeriesSnapshot } from '../../stream/series.js';
import { action, backendOptions, backendTimeoutOption, durationArg, intArg, jsonOption, positiveNumber, type Register } from '../register.js';
import type { ParityOptions } from './run.js';


function rateArg(value: string): number {
  const pct = value.endsWith('%');
  const n = Number(pct ? value.slice(0, -1) : value) / (pct ? 100 : 1);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new UsageError(`--max-mismatch-rate takes a fraction from 0 to 1 (or a percentage such as 0.5%), got "${value}"`);
  return n;
}

export const register: Register = (program: Command, io, setExit) => {
  const cmd = program
    .command('parity')
    .argument('[features...]', 'features to watch (default: every configured feature)')
    .description('the WebSocket stream and the REST endpoints side by side: every interval and payload mismatch')
    .option('--duration <duration>', 'stop after this long (default: until Ctrl-C or --sessions)', durationArg('--duration'))
    .option('--sessions <n>', 'stop after N complete market sessions (PROTOCOL.md section 5)', intArg('--sessions', 1))
    .option('--speed <n>', 'rehearsal speed: divides every expected interval, window and session length (match simulate --speed)', positiveNumber('--speed'), 1)
    .option('--events <file>', 'append every event as one JSON line (NDJSON) as it happens ("-": stdout)')
    .addOption(new Option('--max-mismatch-rate <rate>', 'allowed share of mismatched REST polls per feature (0..1 or 0.5%)').argParser(rateArg))
    .option('--report <file>', 'write an HTML report with charts (one self-contained file) at the end')
    .option('--jitter <duration>', 'timer jitter allowed on every interval boundary, real time (default 25ms; raise it for high --speed on a busy machine)', durationArg('--jitter'))
    .addHelpText('after', `
A REST snapshot agrees when it equals the latest WS message for its key as of the poll, or
any WS message within one interval either side (same version when the feature names a
version field). Fields that differ between two quick REST reads are reported as noise.

Exit: 0 no problem found, 1 mismatches or other problems (no data fails), 2 cannot connect
at all, 3 too little to judge (a feature with no REST poll compared yet), 130 interrupted
(the summary is printed first).

Examples:
  $ thor-cutover parity
  $ thor-cutover parity account_balance positions --duration 15m --url http://thor:8000 --token "$TOKEN"
  $ thor-cutover parity --json > parity.json
  $ thor-cutover parity --events mismatches.ndjson
  $ thor-cutover parity --duration 1h --report parity.html    # charts: intervals, mismatches, REST
  $ thor-cutover parity --speed 20 --sessions 2          # against: thor-cutover simulate --speed 20
  $ thor-cutover parity --metrics 127.0.0.1:9464         # Prometheus scrapes /metrics while it runs`);
  backendOptions(cmd);
  backendTimeoutOption(cmd);
  metricsOptions(cmd);
  jsonOption(cmd, 'one summary document at the end');
  cmd.action(action(io, setExit, async (ctx, features) => {
    const { runParity } = await import('./run.js');
    const { printParity, printEvent, LiveView } = await import('./render.js');
    const o = ctx.opts as unknown as ParityOptions;
    const html = o.report ? await (await import('../../report/write.js')).reportTarget(ctx.io.cwd, o.report) : null;
    const live = LiveView.forOutput(ctx.out);
    let series: SeriesSnapshot | undefined;
    const report = await runParity(ctx, features, o, {
      onTick: live ? (s) => live.draw(s) : undefined,
      note: (text) => { live?.clear(); ctx.io.stderr.write(`${text}\n`); },
      series: html ? (s) => { series = s; } : undefined,
      event: (e) => printEvent(ctx.out, e),
    });
    live?.clear();
    const code = printParity(ctx.out, report);
    if (!html || !series) return code;
    const [{ writeReport }, { parityDocument }, { resolveActor }] = await Promise.all([import('../../report/write.js'), import('./report.js'), import('../context.js')]);
    return writeReport(ctx.out, html, parityDocument(report, series, ctx.config, await resolveActor(ctx.io, undefined), o.maxMismatchRate), code);
  }));
};
