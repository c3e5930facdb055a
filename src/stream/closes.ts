import { formatMs } from '../output/units.js';

/**
 * Why does the server keep closing the socket? Pure functions over the closes a run saw,
 * shared by the engine's findings and doctor. The case that matters most on a Channels
 * backend (PROTOCOL.md section 3): a broadcast type the consumer has no handler for. The
 * consumer raises when the group message arrives, the socket is closed with 1011, and the
 * frame never reaches the client; the next broadcast of that type closes the next socket.
 * So the closes keep time with that type's interval, and that type never arrives.
 */

/** One close of an open socket by the server (our own stop is not one). */
export interface CloseRecord {
  at: number;
  code: number;
  reason: string;
  /** The type of the last frame before the close, and how long before it arrived. */
  lastType: string | null;
  sinceLastFrameMs: number | null;
}

/** A type the run expects, with what arrived of it (over the same span as the closes). */
export interface ExpectedType {
  type: string;
  feature: string;
  /** Expected interval, real ms (already divided by --speed). */
  intervalMs: number;
  messages: number;
}

export interface CloseDiagnosis {
  closes: number;
  /** Close code -> count, most frequent first. */
  codes: [number, number][];
  /** Median time between closes, ms (null with fewer than two). */
  periodMs: number | null;
  /** The type in flight when the socket was closed, when the evidence names one (or a few). */
  suspects: string[];
  /** How the suspects were found. */
  evidence: 'never-arrived' | 'last-frame' | null;
  /** One sentence: "closed 6 times (1011 internal error x6), about every 1.0 s; ..." */
  text: string;
  hint: string;
}

const CLOSE_CODES: Record<number, { meaning: string; hint: string }> = {
  1000: { meaning: 'normal closure', hint: 'the backend ended the connection on purpose: see the consumer\'s disconnect logic' },
  1001: { meaning: 'going away', hint: 'the backend (or a proxy) is shutting down or restarting' },
  1006: { meaning: 'abnormal closure: dropped without a close frame', hint: 'a crash, a proxy idle timeout, or a network cut: see the backend and proxy logs' },
  1008: { meaning: 'policy violation', hint: 'the consumer or a proxy rejected the connection: origin, auth or message policy' },
  1011: { meaning: 'internal error', hint: 'the consumer raised an exception: see the backend logs' },
  1012: { meaning: 'service restart', hint: 'the backend is restarting (a deploy?): run doctor again once it is up' },
  1013: { meaning: 'try again later', hint: 'the backend is overloaded or not ready' },
  4001: { meaning: 'unauthorized (application code)', hint: 'the consumer rejected the credentials: check --token / THOR_CUTOVER_TOKEN and backend.tokenIn' },
  4003: { meaning: 'forbidden (application code)', hint: 'the token is valid but may not open this stream: check its permissions' },
  4401: { meaning: 'unauthorized (application code, HTTP 401 + 4000)', hint: 'the consumer rejected the token after accepting the socket: pass the right --token (THOR_CUTOVER_TOKEN), and check backend.tokenIn (query, header or both)' },
  4403: { meaning: 'forbidden (application code, HTTP 403 + 4000)', hint: 'the token is valid but may not open this stream: check its permissions' },
};

export function explainClose(code: number): { meaning: string; hint: string } {
  const known = CLOSE_CODES[code];
  if (known) return known;
  if (code >= 4000 && code <= 4999) {
    return { meaning: 'application-defined code', hint: `the backend's consumer chose ${code} (self.close(code=${code})): look it up there` };
  }
  return { meaning: 'unexpected close code', hint: 'see the backend and proxy logs' };
}

/** A frame this close after the last one was "in flight" when the socket closed. */
const IN_FLIGHT_MS = 50;
/**
 * Mean resultant length of the closes' phases within an interval: 1 when every close falls
 * at the same point of the cycle, about 1/sqrt(n) for closes at random times.
 */
const PHASE_LOCKED = 0.8;

function phaseLock(times: number[], periodMs: number): number {
  let x = 0;
  let y = 0;
  for (const t of times) {
    const a = (2 * Math.PI * (t % periodMs)) / periodMs;
    x += Math.cos(a);
    y += Math.sin(a);
  }
  return Math.hypot(x, y) / times.length;
}

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** The Channels handler a type names: `a.b` -> `a_b`. */
export function handlerName(type: string): string {
  return type.replace(/\./g, '_');
}

/**
 * null with no close; otherwise what the closes have in common. Two closes are enough to
 * name a suspect only when the timing and the missing type agree; one close names none.
 */
export function diagnoseCloses(closes: readonly CloseRecord[], expected: readonly ExpectedType[]): CloseDiagnosis | null {
  if (closes.length === 0) return null;
  const byCode = new Map<number, number>();
  for (const c of closes) byCode.set(c.code, (byCode.get(c.code) ?? 0) + 1);
  const codes = [...byCode.entries()].sort((a, b) => b[1] - a[1]);
  const times = closes.map((c) => c.at);
  const periodMs = median(times.slice(1).map((t, i) => t - times[i]!));
  let suspects: string[] = [];
  let evidence: CloseDiagnosis['evidence'] = null;
  if (closes.length >= 2) {
    const missing = expected.filter((e) => e.messages === 0 && e.intervalMs > 0);
    const locked = missing.filter((e) => phaseLock(times, e.intervalMs) >= PHASE_LOCKED);
    if (locked.length) {
      suspects = locked.map((e) => e.type);
      evidence = 'never-arrived';
    } else {
      const inFlight = new Map<string, number>();
      for (const c of closes) {
        if (c.lastType !== null && c.sinceLastFrameMs !== null && c.sinceLastFrameMs <= IN_FLIGHT_MS) inFlight.set(c.lastType, (inFlight.get(c.lastType) ?? 0) + 1);
      }
      const top = [...inFlight.entries()].sort((a, b) => b[1] - a[1])[0];
      if (top && top[1] * 3 >= closes.length * 2) {
        suspects = [top[0]];
        evidence = 'last-frame';
      }
    }
  }
  const codeText = codes.map(([code, n]) => `${code} ${explainClose(code).meaning}${n > 1 ? ` x${n}` : ''}`).join(', ');
  const every = periodMs !== null ? `, about every ${formatMs(periodMs)}` : '';
  let text = `the server closed the socket ${closes.length === 1 ? 'once' : `${closes.length} times`} (${codeText})${every}`;
  let hint = explainClose(codes[0]![0]).hint;
  if (evidence === 'never-arrived') {
    const names = suspects.join(' or ');
    text += `, each time ${names} was due, and ${names} never arrived`;
    hint = `the consumer may have no handler for ${names}: Channels calls a method named after the type (${suspects.map((t) => `${handlerName(t)}()`).join(', ')}); a broadcast it cannot dispatch raises and closes the socket`;
  } else if (evidence === 'last-frame') {
    text += `, each time right after a ${suspects[0]} frame`;
    hint = `the consumer fails while sending ${suspects[0]}: see the backend logs around its handler ${handlerName(suspects[0]!)}()`;
  }
  return { closes: closes.length, codes, periodMs, suspects, evidence, text, hint };
}
