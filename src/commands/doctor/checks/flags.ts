import type { Config } from '../../../config/types.js';
import { formatDuration, relativeTime } from '../../../output/format.js';
import { cutoverMode, resolveFlags } from '../../../store/effective.js';
import { storeKeys } from '../../../store/keys.js';
import { redactUrl } from '../../../config/load.js';
import { check, type Check } from '../types.js';
import type { RedisFacts } from './redis.js';
import type { EndpointFlags } from './rest.js';
import type { WsObservation } from './ws.js';

/** PROTOCOL.md section 2: a change reaches a subscribed backend within a second; twice that before calling it a divergence. */
const PROPAGATION_MS = 2_000;

const ID = 'flags.backend';
const TITLE = 'backend sees the store';

/** Check 5: the flags the backend acts on against the effective flags in Redis. */
export function checkBackendFlags(config: Config, env: NodeJS.ProcessEnv, redis: RedisFacts, ws: WsObservation | null, endpoint: EndpointFlags | null): Check {
  if (!redis.snapshot) return check('flags', ID, TITLE, 'skip', 'Redis not readable: nothing to compare with');

  const fromHeartbeat = ws?.heartbeat.flags && ws.heartbeat.flagsAt !== null ? { flags: ws.heartbeat.flags, at: ws.heartbeat.flagsAt, where: 'heartbeat' } : null;
  const fromEndpoint = endpoint?.flags ? { flags: endpoint.flags, at: endpoint.at, where: `GET ${endpoint.path}` } : null;
  const seen = fromHeartbeat ?? fromEndpoint;
  if (!seen) {
    const hb = ws?.openedAt == null ? 'no WebSocket' : ws.heartbeat.seen ? 'the heartbeat carries no flags' : 'no heartbeat';
    const ep = endpoint ? `GET ${endpoint.path}: ${endpoint.status ?? ''} ${endpoint.error ?? ''}`.replace(/\s+/g, ' ').trim() : 'flags endpoint not read';
    return check('flags', ID, TITLE, 'skip', `the backend showed no flags (${hb}; ${ep})`,
      'a heartbeat with `flags` (PROTOCOL.md section 3) or a flags endpoint (backend.flagsPath) lets doctor compare');
  }

  const effective = resolveFlags(config.features, redis.snapshot.raw, env);
  const diffs = effective.filter((f) => seen.flags[f.feature] !== undefined && seen.flags[f.feature] !== f.enabled);
  const unreported = effective.filter((f) => seen.flags[f.feature] === undefined).map((f) => f.feature);
  const on = effective.filter((f) => f.enabled).map((f) => f.feature);
  const state = `${cutoverMode(effective)}, on: ${on.length ? on.join(', ') : 'none'}`;

  if (unreported.length === effective.length) {
    // Nothing to compare is not agreement.
    return check('flags', ID, TITLE, 'warn', `${seen.where} reports none of the configured features (${Object.keys(seen.flags).slice(0, 5).join(', ') || 'no flags at all'})`,
      'the backend\'s flags must be keyed by feature name with true/false values (PROTOCOL.md section 3)');
  }
  if (diffs.length === 0) {
    if (unreported.length) {
      return check('flags', ID, TITLE, 'warn', `${seen.where} agrees with Redis (${state}) but reports no flag for ${unreported.join(', ')}`,
        'the backend does not report every configured feature: is it an older build, or is the feature named differently there?');
    }
    return check('flags', ID, TITLE, 'pass', `${seen.where} = Redis (${state})`);
  }

  const events = storeKeys(config.redis.prefix).events;
  const lines: string[] = [];
  const causes = new Set<string>();
  let settling = true;
  for (const f of diffs) {
    const last = redis.lastChange.get(f.feature);
    const changedAt = last ? Date.parse(last.at) : NaN;
    const since = last ? `since ${last.at} (${relativeTime(last.at)}, rev ${last.rev} by ${last.actor})`
      : f.redisValue === undefined ? 'the hash has no field for it' : 'no audit entry: set outside thor-cutover, or before its audit was kept';
    lines.push(`${f.feature}: backend ${seen.flags[f.feature] ? 'on' : 'off'}, Redis ${f.enabled ? 'on' : 'off'} (${f.source}), ${since}`);
    // The backend showed its flags before the change, or within the time it is allowed to take.
    if (!(Number.isFinite(changedAt) && seen.at < changedAt + PROPAGATION_MS)) settling = false;

    if (endpoint?.source[f.feature] === 'env' && f.redisValue === undefined) {
      causes.add(`the hash has no field for ${f.feature}, so the backend falls back to its own ${f.envVar}, which differs from this machine's: write the flag to Redis (thor-cutover enable|disable ${f.feature}) so both read the same`);
    } else if (endpoint?.source[f.feature] === 'env') {
      causes.add(`the backend says it takes ${f.feature} from ${f.envVar}: an env-only backend sees a change only after a restart; restart it, or make it read the flags hash`);
    } else if (f.source === 'env') {
      causes.add(`${f.feature} comes from ${f.envVar} on this machine (the hash has no field): the backend's environment differs; set it in Redis with enable/disable`);
    } else if (redis.eventSubscribers === 0) {
      causes.add(`nobody subscribes to ${events}: the backend is not listening for flag changes, or it reads another Redis or prefix (this run: ${redactUrl(config.redis.url)} ${config.redis.prefix})`);
    } else {
      causes.add(`${redis.eventSubscribers ?? 'some'} subscriber(s) on ${events}, yet the backend shows the old value: an env-only backend (${f.envVar}) needs a restart; else see the backend's flag watcher logs`);
    }
  }
  const measured = `${seen.where} disagrees with Redis: ${lines.join('; ')}`;
  if (settling) {
    return check('flags', ID, TITLE, 'warn', measured,
      `the change is recent (the backend gets ${formatDuration(PROPAGATION_MS)} to pick it up, and this ${seen.where} was read before that): run doctor again`);
  }
  return check('flags', ID, TITLE, 'fail', measured, [...causes].join('; '));
}
