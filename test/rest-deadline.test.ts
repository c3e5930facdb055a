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

  it('parity --duration ends the run even while connecting (exit 2: nothing could be read)', async () => {
    const url = await trickle();
    const t = Date.now();
    const r = await runCli(['parity', 'account_balance', '--url', url, '--duration', '2s', '--timeout', '1s'], { timeoutMs: 20_000 });
    expect(r.signal).toBeNull();
    expect(Date.now() - t).toBeLessThan(12_000);
    // 2 when neither WS nor REST could be read at all, 1 when the run went ahead and the
    // feature had no data; either way it ended on its own, in bounded time.
    expect([1, 2]).toContain(r.code);
    expect(r.stdout + r.stderr).toMatch(/no (complete )?answer within|no data/);
  });
});
