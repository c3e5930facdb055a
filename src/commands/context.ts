import type { Command } from 'commander';
import { loadConfig, type ConfigInputs } from '../config/load.js';
import type { Config } from '../config/types.js';
import type { IO } from '../io.js';
import { makeOutput, type Output } from '../output/format.js';

/**
 * What every command gets: the process boundary, its merged options (global ones
 * included), the config loaded once, and the output decided once.
 */
export interface CommandContext {
  io: IO;
  /** Options of the command, merged with the global ones (--config, --redis, ...). */
  opts: Record<string, unknown>;
  config: Config;
  out: Output;
}

/** Runs a command line (without the program name) with its own IO; resolves to its exit code. */
export type RunCommand = (argv: string[], io: IO) => Promise<number>;

/** The options the root program defines for every command. */
export interface GlobalOptions {
  config?: string;
  redis?: string;
  prefix?: string;
  url?: string;
  wsUrl?: string;
  token?: string;
  color?: boolean;
  json?: boolean;
}

/** Tags a command's option whose value is a config setting: the ConfigInputs field it fills. */
export const CONFIG_KEY = Symbol('configKey');

/** A command's own options that are config settings (parity's --timeout is backend.timeout). */
function configOptions(cmd: Command, opts: Record<string, unknown>): Partial<ConfigInputs> {
  const out: Record<string, unknown> = {};
  for (const o of cmd.options) {
    const field = (o as typeof o & { [CONFIG_KEY]?: keyof ConfigInputs })[CONFIG_KEY];
    const value = opts[o.attributeName()];
    if (field && value !== undefined) out[field] = value;
  }
  return out as Partial<ConfigInputs>;
}

export async function makeContext(io: IO, cmd: Command): Promise<CommandContext> {
  const opts = cmd.optsWithGlobals() as Record<string, unknown> & GlobalOptions;
  const inputs: ConfigInputs = {
    ...configOptions(cmd, opts),
    cwd: io.cwd,
    env: io.env,
    configPath: opts.config,
    redisUrl: opts.redis,
    prefix: opts.prefix,
    url: opts.url,
    wsUrl: opts.wsUrl,
    token: opts.token,
  };
  const config = loadConfig(inputs);
  const out = await makeOutput(io, { json: Boolean(opts.json), color: opts.color });
  return { io, opts, config, out };
}

/** The actor recorded with a change: --actor, THOR_CUTOVER_ACTOR, else user@host. */
export async function resolveActor(io: IO, flag: string | undefined): Promise<string> {
  if (flag) return flag;
  if (io.env.THOR_CUTOVER_ACTOR) return io.env.THOR_CUTOVER_ACTOR;
  const os = await import('node:os');
  let user = io.env.USER || io.env.LOGNAME || '';
  if (!user) {
    try { user = os.userInfo().username; } catch { user = 'unknown'; }
  }
  return `${user}@${os.hostname()}`;
}
