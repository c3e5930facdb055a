/** A sentinel for "the run's --timeout passed before this answered". */
export const LATE: unique symbol = Symbol('late');
export type Late = typeof LATE;

/**
 * Race a step against the run's deadline, so no step can hold the doctor past --timeout.
 * A value (a connection) that arrives after the deadline is handed to `onLate` so it can
 * be closed: an open socket left behind would keep the process alive.
 */
export function beforeDeadline<T>(p: Promise<T>, until: number, onLate?: (value: T) => unknown): Promise<T | Late> {
  let timer: NodeJS.Timeout | undefined;
  let expired = false;
  const guarded = p.then((value) => {
    if (expired) void Promise.resolve(onLate?.(value)).catch(() => {});
    return value;
  });
  const timeout = new Promise<Late>((resolve) => {
    timer = setTimeout(() => { expired = true; resolve(LATE); }, Math.max(0, until - Date.now()));
  });
  // A rejection after the deadline has nobody waiting for it: keep it from surfacing as unhandled.
  guarded.catch(() => {});
  return Promise.race([guarded, timeout]).finally(() => clearTimeout(timer));
}

export function msLeft(until: number): number {
  return Math.max(0, until - Date.now());
}
