/**
 * The one key builder: no other module spells a Redis key. PROTOCOL.md section 2.
 * The default prefix `{thor:cutover}` is a Cluster hash tag, so every key here lives in
 * one slot and one change is one transaction on one server.
 */
export interface StoreKeys {
  flags: string;
  rev: string;
  audit: string;
  events: string;
  verify(feature: string): string;
  /** A running monitor's heartbeat (JSON, with a TTL: gone when the monitor is). */
  monitor: string;
}

export function storeKeys(prefix: string): StoreKeys {
  return {
    flags: `${prefix}:flags`,
    rev: `${prefix}:rev`,
    audit: `${prefix}:audit`,
    events: `${prefix}:events`,
    verify: (feature) => `${prefix}:verify:${feature}`,
    monitor: `${prefix}:monitor`,
  };
}

/** PROTOCOL.md: audit stream is capped with MAXLEN ~ 10000; verify lists keep 100. */
export const AUDIT_MAXLEN = 10_000;
export const VERIFY_KEEP = 100;
