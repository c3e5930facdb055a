import type { Config } from '../../../config/types.js';
import { check, type Check } from '../types.js';

/**
 * A config that does not validate never gets here: loading it throws, and the run ends
 * with exit 2 and every problem listed. What is left to say is where it came from.
 */
export function checkConfig(config: Config, env: NodeJS.ProcessEnv): Check {
  const from = config.file ?? 'built-in defaults (no thor-cutover.config.json)';
  const overrides = Object.keys(env).filter((k) => k.startsWith('THOR_CUTOVER_') && env[k]).sort();
  const names = config.features.map((f) => f.name).join(', ');
  const extra = overrides.length ? ` · env ${overrides.join(' ')}` : '';
  return check('config', 'config', 'config', 'pass', `${from} · ${config.features.length} features (${names})${extra}`);
}
