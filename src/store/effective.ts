/**
 * PROTOCOL.md section 2, "the effective value": the hash field if it exists; else the env
 * var ("true", any case, is on); else off. This is how a backend reads a flag, so it is
 * how the tool reads one too.
 */
export type FlagSource = 'redis' | 'env' | 'default';

export interface EffectiveFlag {
  enabled: boolean;
  source: FlagSource;
  /** Raw values, for warnings: what Redis holds and what the env var holds. */
  redisValue: string | undefined;
  envValue: string | undefined;
  warnings: string[];
}

export function isTrue(value: string | undefined): boolean {
  return value !== undefined && value.trim().toLowerCase() === 'true';
}

export function effectiveFlag(redisValue: string | undefined, envVar: string, envValue: string | undefined): EffectiveFlag {
  const warnings: string[] = [];
  if (envValue !== undefined && !/^(true|false)$/i.test(envValue.trim())) {
    warnings.push(`${envVar}=${envValue} is not true/false: a backend reads it as off`);
  }
  if (redisValue !== undefined && redisValue !== 'true' && redisValue !== 'false') {
    warnings.push(`Redis holds "${redisValue}" (expected "true" or "false"): read as ${isTrue(redisValue) ? 'on' : 'off'}`);
  }
  if (redisValue !== undefined) {
    const enabled = isTrue(redisValue);
    if (envValue !== undefined && isTrue(envValue) !== enabled) {
      warnings.push(`${envVar}=${envValue} disagrees with Redis (${enabled ? 'on' : 'off'}); Redis wins`);
    }
    return { enabled, source: 'redis', redisValue, envValue, warnings };
  }
  if (envValue !== undefined) return { enabled: isTrue(envValue), source: 'env', redisValue, envValue, warnings };
  return { enabled: false, source: 'default', redisValue, envValue, warnings };
}

export interface FeatureFlag extends EffectiveFlag {
  feature: string;
  envVar: string;
}

/** Every configured feature's effective flag, in cutover order. */
export function resolveFlags(
  features: readonly { name: string; envVar: string }[],
  raw: Record<string, string>,
  env: NodeJS.ProcessEnv,
): FeatureFlag[] {
  return features.map((f) => ({ feature: f.name, envVar: f.envVar, ...effectiveFlag(raw[f.name], f.envVar, env[f.envVar]) }));
}

export type Mode = 'SHADOW' | 'PARTIAL' | 'FULL';

/** PROTOCOL.md section 4. */
export function cutoverMode(flags: readonly { enabled: boolean }[]): Mode {
  const on = flags.filter((f) => f.enabled).length;
  return on === 0 ? 'SHADOW' : on === flags.length ? 'FULL' : 'PARTIAL';
}
