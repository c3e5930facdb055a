import type { CloseRecord } from './closes.js';

/**
 * The protocol's side of the stream, read one way for every front end: the engine's intake
 * and doctor's own socket both use these (PROTOCOL.md section 3).
 */

/** The flags a heartbeat reports (feature -> boolean; other values ignored), or null when it carries none. */
export function heartbeatFlags(data: unknown): Record<string, boolean> | null {
  const flags = (data as { flags?: unknown } | null)?.flags;
  if (!flags || typeof flags !== 'object' || Array.isArray(flags)) return null;
  const out: Record<string, boolean> = {};
  for (const [k, v] of Object.entries(flags)) if (typeof v === 'boolean') out[k] = v;
  return out;
}

/** An error_message: its `message` (else the data as JSON, cut short) and its `code`, if any. */
export function errorMessageOf(data: unknown): { message: string; code: string | null } {
  const d = (data ?? {}) as { message?: unknown; code?: unknown };
  const message = typeof d.message === 'string' ? d.message : JSON.stringify(data ?? null).slice(0, 200);
  const code = d.code === undefined || d.code === null ? null : String(d.code);
  return { message, code };
}

/** A close of an open socket by the server, with what was in flight: what the close diagnosis reads. */
export function closeRecordOf(e: { at: number; code: number; reason: string }, last: { type: string | null; at: number }): CloseRecord {
  return {
    at: e.at, code: e.code, reason: e.reason.slice(0, 120), lastType: last.type,
    sinceLastFrameMs: last.type === null ? null : e.at - last.at,
  };
}
