import type { CommandContext } from '../context.js';
import { ExitCode, StoreUnavailableError } from '../../errors.js';
import { formatDuration, note } from '../../output/format.js';
import { memoryStore, openStore } from '../../store/index.js';
import type { FlagStore } from '../../store/types.js';
import { formatFault, parseFault } from '../../sim/faults.js';
import { startSimulator } from '../../sim/server.js';
import type { SimulateOptions } from './command.js';
import { untilAborted } from '../../abort.js';


export async function runSimulate(ctx: CommandContext, opts: SimulateOptions): Promise<number> {
  const { config, io, out } = ctx;
  const faults = opts.fault.map(parseFault);
  let store: FlagStore;
  try {
    // A long-running client retries a refused connection until its timeout; a one-shot probe
    // learns "nothing listens there" at once, so the fallback does not cost seconds.
    await (await openStore(config, { oneShot: true })).close();
    store = await openStore(config, { oneShot: false });
  } catch (err) {
    if (!(err instanceof StoreUnavailableError)) throw err;
    store = memoryStore();
    note(out, `note: ${err.message}: using the in-process flag store (thor-cutover enable/disable will not reach this simulator)`);
  }
  const started = performance.now();
  try {
    const sim = await startSimulator({
      config,
      host: opts.host,
      port: opts.port,
      speed: opts.speed,
      seed: opts.seed,
      symbols: opts.symbols,
      sessionOpenMs: opts.sessionOpen,
      sessionClosedMs: opts.sessionClosed,
      faults,
      store,
      token: config.backend.token,
      env: io.env,
      log: (line) => io.stderr.write(`sim: ${line}\n`),
    });
    io.stdout.write(`simulating on ${sim.url} (${sim.wsUrl}), speed ${opts.speed}, seed ${sim.seed}, store: ${store.description}\n`);
    note(out, `REST: ${config.features.map((f) => f.restPath).join(' ')}  flags: ${config.backend.flagsPath}  faults: ${faults.length ? faults.map(formatFault).join(' ') : 'none'}${config.backend.token ? '  token required for account features' : ''}`);
    note(out, 'Ctrl-C to stop');
    await untilAborted(io.interrupted);
    const stats = sim.stats();
    await sim.close();
    const total = Object.values(stats.messages).reduce((a, b) => a + b, 0);
    note(out, `stopped after ${formatDuration(performance.now() - started)}: ${total} messages, ${stats.frames} frames sent, ${stats.clients} client(s) connected at the end`);
    // Stopping is how a simulator ends: a clean shutdown, not an interrupted check.
    return ExitCode.OK;
  } finally {
    await store.close();
  }
}
