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
  it('is a timeout after twice the configured timeout, not a wait forever', async () => {
    const url = await trickle();
    const client = new RestClient({ baseUrl: url, token: null, timeoutMs: 500 });
    const t = Date.now();
    const r = await client.get('/api/account/balance/');
    await client.close();
    expect(r.outcome).toBe('timeout');
    expect(r.error).toContain('no complete answer within 1000 ms');
    expect(Date.now() - t).toBeLessThan(3_000);
  });

  it('parity --duration ends the run even while connecting (exit 2: nothing could be read)', async () => {
    const url = await trickle();
    const t = Date.now();
    const r = await runCli(['parity', 'account_balance', '--url', url, '--duration', '2s', '--timeout', '1s'], { timeoutMs: 20_000 });
    expect(r.signal).toBeNull();
    expect(Date.now() - t).toBeLessThan(12_000);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: cannot reach the backend: .*REST http:\/\/127\.0\.0\.1:\d+: no (complete )?answer within/m);
  });
});
