/**
 * Polls a condition that has no event to await (a Redis cluster's state, a count another
 * process changes, what a server answers: the condition may be async), with a generous bound so a busy 2-core machine does not break it; the
 * error says what was waited for.
 */
export async function waitFor(cond: () => boolean | Promise<boolean>, ms = 10_000, what = 'the condition', everyMs = 20): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`${what} not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
