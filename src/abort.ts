/**
 * The one way this tool waits for Ctrl-C (the IO's `interrupted` signal) or a deadline:
 * resolves when the signal aborts (at once if it already has) or after `ms`, whichever
 * comes first, and leaves no listener or timer behind. Returns true when the signal ended it.
 */
export function untilAborted(signal: AbortSignal, ms?: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    if (signal.aborted) return resolve(true);
    if (ms != null && ms <= 0) return resolve(false);
    let timer: NodeJS.Timeout | undefined;
    const done = (byAbort: boolean) => {
      if (timer) clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(byAbort);
    };
    const onAbort = () => done(true);
    signal.addEventListener('abort', onAbort, { once: true });
    if (ms != null) timer = setTimeout(() => done(false), ms);
  });
}
