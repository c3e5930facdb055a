import { Option, type Command } from 'commander';
import { UsageError } from '../../errors.js';
import { FAULT_HELP } from '../../sim/faults.js';
import { type Register, action, durationArg, intArg, positiveNumber } from '../register.js';
import type { SimulateOptions } from './run.js';

/** "ES,NQ" -> those symbols; "500" -> the four defaults plus synthetic ones up to 500. */
function symbolsArg(value: string): string[] {
  const text = value.trim();
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n < 1) throw new UsageError('--symbols takes a list (ES,NQ) or a count >= 1');
    const base = ['ES', 'NQ', 'YM', 'RTY'];
    const out = base.slice(0, n);
    for (let i = 1; out.length < n; i++) out.push(`SYM${String(i).padStart(4, '0')}`);
    return out;
  }
  const list = [...new Set(text.split(',').map((s) => s.trim()).filter(Boolean))];
  if (!list.length) throw new UsageError('--symbols takes a list (ES,NQ) or a count >= 1');
  return list;
}

/** Rehearsal time; the simulator's own defaults, spelled here so --help can show them without loading it. */
const DEFAULT_SESSION_OPEN_MS = 5 * 60_000;
const DEFAULT_SESSION_CLOSED_MS = 60_000;

const collect = (value: string, previous: string[] = []) => [...previous, value];

export const register: Register = (program: Command, io, setExit) => {
  const width = Math.max(...FAULT_HELP.map(([s]) => s.length));
  const cmd = program
    .command('simulate')
    .description('run a rehearsal backend that follows the protocol: the 4 REST endpoints and the /ws/ stream, with faults on demand')
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('--port <port>', 'port for HTTP and WS', intArg('--port', 0), 8000)
    .option('--speed <n>', 'divide every interval, session length and fault period by n (fast rehearsals)', positiveNumber('--speed'), 1)
    .option('--seed <n>', 'seed for prices and fault dice, to repeat a run (default: random, printed)', intArg('--seed', 0))
    .option('--symbols <list|count>', 'intraday symbols: a list (ES,NQ,YM,RTY) or a count (500)', symbolsArg)
    .addOption(new Option('--session-open <duration>', 'length of an OPEN session of each market (rehearsal time)')
      .argParser(durationArg('--session-open')).default(DEFAULT_SESSION_OPEN_MS, '5m'))
    .addOption(new Option('--session-closed <duration>', 'length of a CLOSED period between sessions')
      .argParser(durationArg('--session-closed')).default(DEFAULT_SESSION_CLOSED_MS, '1m'))
    .addOption(new Option('--fault <spec>', 'inject a fault (repeatable; see Faults below)').argParser(collect).default([], 'none'))
    .addOption(new Option('--token <token>', 'require this token: account features on WS only with ?token=/bearer, account REST 401 without (THOR_CUTOVER_TOKEN)'))
    .addHelpText('after', `
Faults (--fault, repeatable; change them while running with POST /_sim/faults):
${FAULT_HELP.map(([s, d]) => `  ${s.padEnd(width)}  ${d}`).join('\n')}

Flags are read from the store (--redis, the config, THOR_CUTOVER_REDIS_URL) with the backend's
effective-value rule; a change shows in the heartbeat and GET /api/cutover/flags/ within a
second. Without a reachable Redis it runs on an in-process store and says so.
Control routes: GET /healthz, GET /api/cutover/flags/, GET|POST /_sim/faults, GET /_sim/stats.
Stops on Ctrl-C or SIGTERM (exit 0).

Examples:
  $ thor-cutover simulate
  $ thor-cutover simulate --port 8100 --speed 10 --session-open 60s --session-closed 10s
  $ thor-cutover simulate --fault drift=positions:5 --fault drop=intraday:NQ --fault disconnect=30s
  $ curl -s localhost:8000/api/account/balance/ ; wscat -c ws://localhost:8000/ws/
  $ curl -s -XPOST localhost:8000/_sim/faults -d '{"faults":["rest500=positions:0.5"]}'`);
  cmd.action(action(io, setExit, async (ctx) => {
    const { runSimulate } = await import('./run.js');
    const render = await import('./render.js');
    const report = await runSimulate(ctx, ctx.opts as unknown as SimulateOptions, {
      fallback: (why) => render.printFallback(ctx.out, why),
      started: (info) => render.printStarted(ctx.io, ctx.out, ctx.config, info),
      log: (line) => render.printSimLog(ctx.io, line),
    });
    return render.printStopped(ctx.out, report);
  }));
};
