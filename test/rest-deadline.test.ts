import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import { RestClient } from '../src/stream/rest-poller.js';
import { runCli } from './support/cli.js';

let server: Server | undefined;
const open: ServerResponse[] = [];
const timers: NodeJS.Timeout[] = [];
afterEach(async () => {
  for (const t of timers) clearInterval(t);
  for (const r of open) r.destroy();
  if (server) { server.close(); server.closeAllConnections(); }
  server = undefined;
});

/** A backend that answers 200 at once and then sends its body one byte a second, forever. */
async function trickle(): Promise<string> {
  server = createServer((_req, res) => {
    open.push(res);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{');
    timers.push(setInterval(() => res.write(' '), 200));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

describe('a REST endpoint that trickles its body never finishing', () => {
  it('is a timeout within about twice the configured timeout, not a wait forever', async () => {
    const url = await trickle();
    const client = new RestClient({ baseUrl: url, token: null, timeoutMs: 500 });
    const t = Date.now();
    const r = await client.get('/api/account/balance/');
    await client.close();
    expect(r.outcome).toBe('timeout');
    expect(r.error).toMatch(/no (complete )?answer within/);
    expect(Date.now() - t).toBeLessThan(4_000);
  });

  it('parity --duration ends the run even while the body never finishes: the backend answered, so it ran and failed (exit 1, the timeout named)', async () => {
    const url = await trickle();
    const t = Date.now();
    const r = await runCli(['parity', 'account_balance', '--url', url, '--duration', '2s', '--timeout', '1s'], { timeoutMs: 20_000 });
    expect(r.signal).toBeNull();
    expect(Date.now() - t).toBeLessThan(12_000);
    // A status line came back, so the backend is reachable (exit 2 is for one that is not):
    // the run went ahead and the stalled body is its finding.
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/account_balance: REST \/api\/account\/balance\/: \d+ of \d+ polls failed \(\d+ timeout\); last: no complete answer within/);
    expect(r.stdout).toMatch(/account_balance: no data: no account_balance message arrived on WS/);
  });
});
