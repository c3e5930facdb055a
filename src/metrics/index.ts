import type { Command } from 'commander';
import type { Config, FeatureConfig } from '../config/types.js';
import { durationArg } from '../commands/register.js';
import { UsageError } from '../errors.js';
import type { IO } from '../io.js';
import { formatDuration } from '../output/format.js';
import type { EngineSnapshot } from '../stream/types.js';

/** Parsed where commands register their options: no prom-client until a run asks for metrics (a type import loads nothing). */
import type { Listen } from './server.js';
export type { Listen } from './server.js';

/** "9464", ":9464", "0.0.0.0:9464", "[::1]:9464" -> host and port; a bare port binds 127.0.0.1. */
export function parseListen(value: string): Listen {
  const m = /^(?:(\[[0-9a-fA-F:.]+\]|[^:[\]]*):)?(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port >= 0 && port <= 65_535)) {
    throw new UsageError(`--metrics takes host:port or a port, such as 127.0.0.1:9464, got "${value}"`, 'a bare port binds 127.0.0.1; 0.0.0.0:9464 serves every interface');
  }
  const host = (m[1] ?? '').replace(/^\[|\]$/g, '') || '127.0.0.1';
  return { host, port };
}

/** `--metrics` and `--metrics-hold`, the same on every long-running command. */
export function metricsOptions(cmd: Command): Command {
  return cmd
    .option('--metrics <host:port>', 'serve Prometheus metrics at http://HOST:PORT/metrics while it runs (a bare port binds 127.0.0.1)', parseListen)
    .option('--metrics-hold <duration>', 'after the run, keep serving its final numbers this long (or until Ctrl-C) so the last scrape sees them', durationArg('--metrics-hold'));
}

export interface MetricsFlags {
  metrics?: Listen;
  metricsHold?: number;
}

/** The part a run holds: started after the engine exists, finished after it stopped. */
export interface RunMetrics {
  /** Serve the final numbers (for --metrics-hold), then close. */
  finish(final: EngineSnapshot, signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

/** Start the metrics server when --metrics was given (prom-client is loaded only then); says where on stderr. */
export async function startRunMetrics(
  flags: MetricsFlags, io: IO, o: { command: 'parity' | 'verify' | 'monitor'; config: Config; features: FeatureConfig[]; snapshot: () => EngineSnapshot },
): Promise<RunMetrics | null> {
  if (!flags.metrics) return null;
  const { startMetrics } = await import('./server.js');
  const server = await startMetrics({ listen: flags.metrics, env: io.env, ...o });
  io.stderr.write(`metrics: serving ${server.url}\n`);
  return {
    async finish(final, signal) {
      server.freeze(final);
      if (flags.metricsHold) {
        io.stderr.write(`metrics: holding the final numbers at ${server.url} for ${formatDuration(flags.metricsHold)} (Ctrl-C ends it)\n`);
        await server.hold(flags.metricsHold, signal);
      }
      await server.close();
    },
    close: () => server.close(),
  };
}
