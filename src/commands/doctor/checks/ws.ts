import type { Config, FeatureConfig } from '../../../config/types.js';
import { formatDuration } from '../../../output/format.js';
import { explainClose } from '../../../stream/closes.js';
import { badFrameTotal } from '../../../stream/ws-client.js';
import { check, type Check } from '../types.js';
import { ARRIVAL_GRACE_MS, featureOfType, PING_EVERY_MS, type Seen, type WsObservation } from './ws-observe.js';

export { minWatchMs, observeWs, type WsObservation, type WsPlan } from './ws-observe.js';

/**
 * PROTOCOL.md section 3: a heartbeat every 30 ticks of the backend's scheduler. The runbook
 * does not say how long a tick is; the simulator's is a second, as is the runbook's job loop.
 */
export const HEARTBEAT_EVERY_MS = 30_000;
/** Types the protocol knows that carry no feature: never "unclaimed". */
const PROTOCOL_TYPES = new Set(['heartbeat', 'pong', 'error_message']);
/** PROTOCOL.md: "Other types (quote_tick, vwap_update, ...) may appear and are not errors." */
const KNOWN_EXTRAS = new Set(['quote_tick', 'vwap_update']);

function handshakeCheck(config: Config, o: WsObservation): Check {
  const id = 'ws.handshake';
  const title = 'WebSocket';
  const s = o.stats;
  if (o.openedAt !== null) {
    const base = `101 Switching Protocols in ${formatDuration(o.handshakeMs ?? 0)} · ${o.url}`;
    if (o.closes.length > 1 && o.closeDiagnosis) {
      const d = o.closeDiagnosis;
      return check('ws', id, title, 'fail', `${base}; then ${d.text} in ${formatDuration(o.endedAt - o.openedAt)} (a close/reconnect loop)`, d.hint);
    }
    if (o.closedByServer) {
      const c = o.closedByServer;
      const { meaning, hint } = explainClose(c.code);
      return check('ws', id, title, 'fail',
        `${base}, then closed by the server after ${formatDuration(c.at - o.openedAt)}: ${c.code} ${meaning}${c.reason ? ` ("${c.reason.slice(0, 80)}")` : ''}`, hint);
    }
    return check('ws', id, title, 'pass', `${base} · open ${formatDuration(o.endedAt - o.openedAt)}`);
  }
  const status = s.lastHandshakeStatus;
  if (status !== null && status !== 101) {
    const hint = status === 401 || status === 403
      ? (config.backend.token
        ? 'the backend refused the token on the handshake: check --token and backend.tokenIn (query, header or both)'
        : 'the stream needs a token: pass --token or set THOR_CUTOVER_TOKEN')
      : status === 404
        ? `nothing serves WebSockets at ${new URL(config.backend.wsUrl).pathname}: set --ws-url or backend.wsPath (the runbook's is /ws/), and check the ASGI routing`
        : 'the server answered the upgrade with plain HTTP: is the ASGI server (daphne/uvicorn) behind this address, and does the proxy pass Upgrade headers?';
    return check('ws', id, title, 'fail', `handshake refused: HTTP ${status} from ${o.url}`, hint);
  }
  const err = s.lastError ?? '';
  if (o.noAnswer || /handshake has timed out/i.test(err)) {
    return check('ws', id, title, 'fail', `no answer to the WebSocket handshake within ${formatDuration(o.endedAt - o.startedAt)} from ${o.url}`,
      'something holds the connection but never answers the upgrade: a proxy that does not pass Upgrade/Connection headers (nginx: proxy_http_version 1.1), a plain WSGI server instead of daphne/uvicorn, or a stuck ASGI worker');
  }
  if (/ECONNREFUSED/.test(err)) {
    return check('ws', id, title, 'fail', `connection refused at ${o.url}`, 'is the ASGI server (daphne/uvicorn) running? set --ws-url or --url');
  }
  return check('ws', id, title, 'fail', `cannot open ${o.url}: ${err || 'closed before the handshake'}`, 'check --ws-url / --url and that the backend is up');
}

function unclaimedTypes(config: Config, o: WsObservation): string[] {
  const claimed = featureOfType(config);
  return [...o.types.keys()].filter((t) => !claimed.has(t) && !PROTOCOL_TYPES.has(t) && !KNOWN_EXTRAS.has(t)).sort();
}

function typeCheck(config: Config, f: FeatureConfig, o: WsObservation, speed: number): Check {
  const id = `ws.type.${f.name}`;
  const title = `WS ${f.name}`;
  if (o.openedAt === null) return check('ws', id, title, 'skip', 'no WebSocket connection');
  const intervalMs = f.intervalMs / speed;
  const limitMs = 2 * intervalMs + ARRIVAL_GRACE_MS;
  const watchedMs = o.endedAt - o.openedAt;
  const seen = f.wsTypes.map((t) => ({ t, s: o.types.get(t) })).filter((x) => x.s) as { t: string; s: Seen }[];
  const types = f.wsTypes.map((t) => `"${t}"`).join(' or ');
  if (seen.length) {
    const first = Math.min(...seen.map((x) => x.s.firstAt)) - o.openedAt;
    const count = seen.reduce((n, x) => n + x.s.count, 0);
    const measured = `${seen.map((x) => x.t).join(', ')}: first after ${formatDuration(first)} (limit ${formatDuration(limitMs)}) · ${count} message${count === 1 ? '' : 's'}`;
    if (f.accountScoped && !config.backend.token) {
      return check('ws', id, title, 'warn', `${measured} · received without a token`,
        'account-scoped data reached a socket that presented no token: the consumer should send it only to authenticated sockets');
    }
    if (f.cadence === 'periodic' && first > limitMs) {
      return check('ws', id, title, 'warn', measured,
        `the first message took longer than two intervals (${formatDuration(intervalMs)} each): the job runs late or slower than features.${f.name}.interval says`);
    }
    return check('ws', id, title, 'pass', measured);
  }
  const none = `no ${types} in ${formatDuration(watchedMs)}`;
  const d = o.closeDiagnosis;
  if (d && d.evidence === 'never-arrived' && f.wsTypes.some((t) => d.suspects.includes(t))) {
    return check('ws', id, title, 'fail', `${none}: the server closed the socket each time it was due (${d.codes.map(([c, n]) => `${c} x${n}`).join(', ')})`, d.hint);
  }
  if (o.closes.length > 0) {
    return check('ws', id, title, o.closes.length > 1 ? 'fail' : 'warn', `${none}: the server closed the socket ${o.closes.length === 1 ? 'once' : `${o.closes.length} times`} while we watched`, 'see the WebSocket check above');
  }
  if (f.accountScoped && !config.backend.token) {
    return check('ws', id, title, 'skip', `not checked: ${types} is account-scoped and goes only to sockets with a token; pass --token`);
  }
  if (f.cadence !== 'periodic') {
    return check('ws', id, title, 'warn', `${none} (${f.cadence}: sent when something happens)`, 'nothing may have happened in the window; run parity for a longer look');
  }
  if (watchedMs < limitMs) {
    return check('ws', id, title, 'warn', `${none}: shorter than two intervals (${formatDuration(2 * intervalMs)})`, `raise --timeout above ${formatDuration(limitMs)} to judge it`);
  }
  const unclaimed = unclaimedTypes(config, o);
  const renamed = unclaimed.length
    ? `; these arrived and no feature claims them: ${unclaimed.join(', ')}: if one is ${f.name}, set features.${f.name}.wsTypes`
    : `; if the backend names the type differently, set features.${f.name}.wsTypes`;
  return check('ws', id, title, 'fail', `${none} (expected every ${formatDuration(intervalMs)})`,
    `the job that broadcasts ${f.name} is not running or not sending to the channel layer (runbook: "Check job is executing")${renamed}`);
}

function otherCheck(config: Config, o: WsObservation): Check {
  const id = 'ws.other';
  const title = 'WS other traffic';
  if (o.openedAt === null) return check('ws', id, title, 'skip', 'no WebSocket connection');
  const unclaimed = unclaimedTypes(config, o);
  const extras = [...o.types.keys()].filter((t) => KNOWN_EXTRAS.has(t)).sort();
  const bad = o.stats.badFrames;
  const badCount = badFrameTotal(bad);
  const problems: string[] = [];
  const hints: string[] = [];
  if (unclaimed.length) {
    problems.push(`no feature claims ${unclaimed.map((t) => `${t} ×${o.types.get(t)!.count}`).join(', ')}`);
    hints.push('if a type carries a feature, add it to that feature\'s wsTypes in the config');
  }
  if (badCount) {
    problems.push(`${badCount} frame${badCount === 1 ? '' : 's'} not {"type","data"} JSON${bad.samples[0] ? ` (${bad.samples[0].kind}: ${JSON.stringify(bad.samples[0].sample.slice(0, 40))})` : ''}`);
    hints.push('something sends frames that are not JSON objects with a type: clients drop them');
  }
  const extra = extras.length ? ` · known extras: ${extras.join(', ')}` : '';
  if (problems.length) return check('ws', id, title, 'warn', problems.join(' · ') + extra, hints.join('; '));
  return check('ws', id, title, 'pass', `nothing unexpected${extra}`);
}

/** error_message frames (PROTOCOL.md section 3: each counts as an error). */
function errorsCheck(o: WsObservation): Check {
  const id = 'ws.errors';
  const title = 'WS error_message';
  if (o.openedAt === null) return check('ws', id, title, 'skip', 'no WebSocket connection');
  const n = o.errorMessages.count;
  const watched = formatDuration(o.endedAt - o.openedAt);
  if (n === 0) return check('ws', id, title, 'pass', `none in ${watched}`);
  return check('ws', id, title, 'fail', `${n} error_message${n === 1 ? '' : 's'} in ${watched}; first: "${o.errorMessages.first}"`,
    'the backend reports errors on the stream: see its logs around the time of each (clients show them to users)');
}

function heartbeatCheck(o: WsObservation, speed: number): Check {
  const id = 'ws.heartbeat';
  const title = 'heartbeat';
  if (o.openedAt === null) return check('ws', id, title, 'skip', 'no WebSocket connection');
  const everyMs = HEARTBEAT_EVERY_MS / speed;
  const watchedMs = o.endedAt - o.openedAt;
  const hb = o.heartbeat;
  if (!hb.seen) {
    const none = `none in ${formatDuration(watchedMs)} (sent every 30 ticks, ~${formatDuration(everyMs)})`;
    // A window shorter than the heartbeat period proves nothing: no data is never a pass, nor a fail.
    if (watchedMs < everyMs * 1.2) {
      return check('ws', id, title, 'warn', none, `this run watched less than one heartbeat period: run with --timeout ${Math.ceil((everyMs * 1.2) / 1000) + 1}s to wait for one`);
    }
    return check('ws', id, title, 'fail', none,
      'runbook "Heartbeat Not Broadcasting?": run_heartbeat() needs the channel_layer and must send every 30 ticks; is the scheduler running?');
  }
  const d = hb.last ?? {};
  const jobs = Array.isArray(d.active_jobs) ? d.active_jobs.map(String) : null;
  const parts = [`${hb.seen.count} in ${formatDuration(watchedMs)}`];
  if (typeof d.tick === 'number') parts.push(`tick ${d.tick}`);
  if (jobs) parts.push(`active_jobs: ${jobs.length ? jobs.join(', ') : 'none'}`);
  parts.push(hb.flags ? `flags for ${Object.keys(hb.flags).length} features` : 'no flags');
  const measured = parts.join(' · ');
  const missing = ['timestamp', 'tick', 'active_jobs'].filter((k) => !(k in d));
  if (missing.length) {
    return check('ws', id, title, 'warn', `${measured} · missing ${missing.join(', ')}`, 'PROTOCOL.md section 3: a heartbeat\'s data has timestamp, tick and active_jobs');
  }
  if (jobs && jobs.length === 0) {
    return check('ws', id, title, 'warn', measured, 'no job is registered as running: runbook "Check job is executing" (JobRegistry in heartbeat.py)');
  }
  return check('ws', id, title, 'pass', measured);
}

function pingCheck(o: WsObservation): Check {
  const id = 'ws.ping';
  const title = 'ping/pong';
  if (o.openedAt === null) return check('ws', id, title, 'skip', 'no WebSocket connection');
  const { protocol, ws } = o.stats.rtt;
  const wsPart = ws.count ? `WS ping ${formatDuration(ws.meanMs ?? 0)} (n=${ws.count})` : 'no WS pong';
  if (protocol.count) {
    return check('ws', id, title, 'pass', `{"type":"ping"} ${formatDuration(protocol.meanMs ?? 0)} (n=${protocol.count}, max ${formatDuration(protocol.maxMs ?? 0)}) · ${wsPart}`);
  }
  const watchedMs = o.endedAt - o.openedAt;
  if (watchedMs < PING_EVERY_MS * 3) return check('ws', id, title, 'skip', `connection too short to ping (${formatDuration(watchedMs)})`);
  if (ws.count) {
    return check('ws', id, title, 'warn', `no answer to {"type":"ping"} · ${wsPart}`,
      'the consumer does not answer protocol pings with {"type":"pong","timestamp":...} (PROTOCOL.md section 3): clients that rely on them think the socket is dead');
  }
  return check('ws', id, title, 'fail', `no pong of either kind in ${formatDuration(watchedMs)}`,
    'the backend\'s event loop may be blocked, or a proxy swallows control frames');
}

export function wsChecks(config: Config, o: WsObservation, speed: number): Check[] {
  return [
    handshakeCheck(config, o),
    ...config.features.map((f) => typeCheck(config, f, o, speed)),
    errorsCheck(o),
    otherCheck(config, o),
    heartbeatCheck(o, speed),
    pingCheck(o),
  ];
}
