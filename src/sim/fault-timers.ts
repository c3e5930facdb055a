import { WebSocket } from 'ws';
import type { SimCore } from './core.js';

/**
 * The faults that run on timers of their own: a slowed feature's WS side, error_message
 * frames, disconnects and bad frames. Jobs always run (REST stays fresh); called again on
 * every change of the faults.
 */
export function applyFaultTimers(core: SimCore): void {
  const { faults, clients } = core;
  for (const f of core.faultTimers) clearInterval(f);
  core.faultTimers.clear();
  for (const s of core.o.served) {
    if (s.slow) { clearInterval(s.slow); core.timers.delete(s.slow); s.slow = undefined; }
    const factor = faults.slowFactor(s.cfg.name);
    if (factor !== undefined) s.slow = core.every(core.realMs(s.cfg.intervalMs * factor), () => core.emitAll(s));
  }
  const error = faults.periodic('error');
  if (error !== undefined) {
    let n = 0;
    core.every(core.realMs(error * 1000), () => {
      if (clients.size === 0) return;
      n += 1;
      core.send('error_message', [JSON.stringify({ type: 'error_message', data: { message: `simulated backend error #${n} (fault error=${error}s)`, code: 'SIM_FAULT' } })], false);
    }, core.faultTimers);
  }
  const disconnect = faults.periodic('disconnect');
  if (disconnect !== undefined) {
    core.every(core.realMs(disconnect * 1000), () => {
      if (clients.size) core.o.log(`fault: closing ${clients.size} WS connection(s)`);
      // 1012 "service restart": what a backend deploy looks like to the client.
      for (const c of clients) c.ws.close(1012, 'simulated disconnect');
    }, core.faultTimers);
  }
  const badframes = faults.periodic('badframes');
  if (badframes !== undefined) {
    let n = 0;
    core.every(core.realMs(badframes * 1000), () => {
      n += 1;
      const last = core.lastFrame;
      const text = n % 2 === 1 || !last ? 'simulated garbage: not JSON' : last.slice(0, Math.max(1, Math.floor(last.length / 2)));
      for (const c of clients) if (c.ws.readyState === WebSocket.OPEN) c.ws.send(text);
    }, core.faultTimers);
  }
}
