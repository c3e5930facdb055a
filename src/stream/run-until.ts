import type { BackendConfig } from '../config/types.js';
import { ConnectionError } from '../errors.js';
import { redactUrl } from '../redact.js';
import type { Engine } from './engine.js';
import type { EngineSnapshot, SessionSnapshot } from './types.js';
import type { WsAuthFailure } from './ws-client.js';

/**
 * How a long run of the engine ends, for every front end (parity, verify): a duration, a
 * number of complete sessions, a bound on the wait, Ctrl-C, the backend refusing our
 * token, or the front end's own rule on a session that just closed (verify stops at the
 * first failed session: the verdict cannot change after it).
 */
export type RunEnd = 'duration' | 'sessions' | 'max-wait' | 'interrupted' | 'auth' | 'decided';

export interface RunUntilOptions {
  /** Real ms from now; null/undefined: no bound. */
  durationMs?: number | null;
  maxWaitMs?: number | null;
  /** Stop once this many complete sessions were seen. */
  sessions?: number | null;
  signal: AbortSignal;
  /** About once a second, with the engine's numbers (live views, progress). */
  onTick?: (s: EngineSnapshot) => void;
  /** On every session close: return true to stop now ('decided'). */
  onSessionClose?: (s: SessionSnapshot) => boolean;
}

export interface RunOutcome {
  end: RunEnd;
  auth: WsAuthFailure | null;
}

export function runUntil(engine: Engine, o: RunUntilOptions): Promise<RunOutcome> {
  return new Promise<RunOutcome>((resolve) => {
    let auth: WsAuthFailure | null = engine.wsClient?.authFailed ?? null;
    const timers: NodeJS.Timeout[] = [];
    let done = false;
    const finish = (end: RunEnd) => {
      if (done) return;
      done = true;
      for (const t of timers) clearTimeout(t);
      engine.off('session-close', onClose);
      engine.off('auth-failed', onAuth);
      o.signal.removeEventListener('abort', onAbort);
      resolve({ end, auth });
    };
    const onAbort = () => finish('interrupted');
    const onAuth = (e: WsAuthFailure) => { auth = e; finish('auth'); };
    const onClose = () => {
      const s = engine.snapshot();
      const last = s.sessions[s.sessions.length - 1];
      if (last && o.onSessionClose?.(last)) return finish('decided');
      if (o.sessions && s.sessionsCompleted >= o.sessions) finish('sessions');
    };
    engine.on('session-close', onClose);
    engine.on('auth-failed', onAuth);
    if (o.signal.aborted) return finish('interrupted');
    if (auth) return finish('auth');
    o.signal.addEventListener('abort', onAbort, { once: true });
    if (o.durationMs != null) timers.push(setTimeout(() => finish('duration'), Math.max(0, o.durationMs)));
    if (o.maxWaitMs != null) timers.push(setTimeout(() => finish('max-wait'), Math.max(0, o.maxWaitMs)));
    if (o.sessions && engine.sessionsCompleted() >= o.sessions) return finish('sessions');
    if (o.onTick) {
      const tick = o.onTick;
      timers.push(setInterval(() => tick(engine.snapshot()), 1_000));
    }
  });
}

/**
 * The backend refused our credentials: exit 2 with the token named, where it came from,
 * and what to do (PROTOCOL.md section 3: reconnecting will not fix it).
 */
export function authFailureError(f: WsAuthFailure, backend: BackendConfig, wsUrl: string): ConnectionError {
  const how = f.closeCode !== null ? `accepted the WebSocket, then closed it with ${f.closeCode}${f.reason ? ` ("${f.reason.slice(0, 60)}")` : ''}` : `refused the WebSocket handshake with HTTP ${f.handshakeStatus}`;
  const token = backend.token
    ? `the token from ${backend.tokenFrom ?? 'the configuration'} was refused`
    : 'no token is configured';
  const hint = backend.token
    ? `check the token in ${backend.tokenFrom ?? 'the configuration'}, and where the consumer reads it: backend.tokenIn is "${backend.tokenIn}" (query, header or both)`
    : 'pass --token, or set THOR_CUTOVER_TOKEN (or backend.token in the config)';
  return new ConnectionError(`authentication failed: ${redactUrl(wsUrl)} ${how}: ${token}`, hint, undefined, 'E_AUTH');
}

/**
 * After `engine.start()`: the error that ends a run which cannot judge anything (the token
 * refused; the WebSocket or the REST API not answering), or null to go on. verify and monitor
 * need both sides; parity goes on with either (it passes `either`).
 */
export function contactError(engine: Engine, contact: { ws: boolean; rest: boolean; wsError?: string | null; restError?: string | null }, backend: BackendConfig, either = false): ConnectionError | null {
  const refused = engine.wsClient?.authFailed;
  if (refused) return authFailureError(refused, backend, backend.wsUrl);
  if (either ? contact.ws || contact.rest : contact.ws && contact.rest) return null;
  if (either) {
    return new ConnectionError(
      `cannot reach the backend: WebSocket ${redactUrl(backend.wsUrl)}: ${contact.wsError ?? 'failed'}; REST ${redactUrl(backend.url)}: ${contact.restError ?? 'failed'}`,
      'is the backend running? check --url / --ws-url (or THOR_CUTOVER_URL); thor-cutover doctor checks each part',
    );
  }
  const what = !contact.ws ? `the WebSocket at ${engine.snapshot().connection.url}: ${contact.wsError ?? 'no answer'}` : `the REST API at ${backend.url}: ${contact.restError ?? 'no answer'}`;
  return new ConnectionError(`cannot connect to ${what}`, 'is the backend running? set --url / --ws-url (or THOR_CUTOVER_URL), and --token if it needs one');
}
