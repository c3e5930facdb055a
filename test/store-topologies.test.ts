import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestRedis } from './support/redis.js';
import { waitFor } from './support/wait.js';
import { runCli } from './support/cli.js';

const servers: TestRedis[] = [];
afterAll(async () => { for (const s of servers) await s.dispose(); });

describe('Redis topologies the store supports', () => {
  it('Redis Cluster: the {hash tag} keeps every key in one slot, so the Lua change runs (no CROSSSLOT)', async () => {
    const node = await new TestRedis({ extraArgs: (dir) => ['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf'), '--cluster-announce-ip', '127.0.0.1'] }).start();
    servers.push(node);
    execFileSync('redis-cli', ['-p', String(node.port), 'cluster', 'addslotsrange', '0', '16383']);
    await waitFor(() => execFileSync('redis-cli', ['-p', String(node.port), 'cluster', 'info']).toString().includes('cluster_state:ok'), 10_000, 'cluster_state:ok', 100);
    const env = { THOR_CUTOVER_REDIS_URL: `redis+cluster://127.0.0.1:${node.port}`, THOR_CUTOVER_ACTOR: 'tester' };
    const r = await runCli(['enable', 'account_balance', '--reason', 'cluster'], { env });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const s = await runCli(['status', '--json'], { env });
    expect(JSON.parse(s.stdout).features[0]).toMatchObject({ name: 'account_balance', enabled: true, source: 'redis' });
    // The store's health is asked of each master, named in what it says.
    const health = JSON.parse(s.stdout).storeHealth as { id: string; status: string; summary: string }[];
    expect(health.find((h) => h.id === 'persistence')).toMatchObject({ status: 'warn' });
    expect(health.find((h) => h.id === 'persistence')!.summary).toContain(`no persistence: 127.0.0.1:${node.port}: RDB snapshots off (save ""), AOF off`);
    expect(health.find((h) => h.id === 'reset')).toMatchObject({ status: 'ok', summary: 'rev 1, 1 audit entry, 1 flag: consistent' });
    const slot = (k: string) => execFileSync('redis-cli', ['-p', String(node.port), 'cluster', 'keyslot', k]).toString().trim();
    expect(new Set(['{thor:cutover}:flags', '{thor:cutover}:rev', '{thor:cutover}:audit', '{thor:cutover}:verify:intraday'].map(slot)).size).toBe(1);
  });

  it('Redis Sentinel: redis+sentinel://host:port/master finds the master through the sentinel', async () => {
    const master = await new TestRedis().start();
    servers.push(master);
    // Sentinel cannot be told "any free port" (port 0 means no TCP at all): TestRedis picks
    // one and starts again on another if it was taken before the bind.
    const sentinel = await new TestRedis({
      configFile: (dir) => {
        const conf = join(dir, 'sentinel.conf');
        writeFileSync(conf, `sentinel monitor mymaster 127.0.0.1 ${master.port} 1\n`);
        return conf;
      },
      extraArgs: () => ['--sentinel'],
    }).start();
    servers.push(sentinel);
    const env = { THOR_CUTOVER_REDIS_URL: `redis+sentinel://127.0.0.1:${sentinel.port}/mymaster`, THOR_CUTOVER_ACTOR: 'tester' };
    const r = await runCli(['enable', 'account_balance'], { env });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const c = master.client();
    expect(await c.hget('{thor:cutover}:flags', 'account_balance')).toBe('true');
    c.disconnect();
    // Through the sentinel, the master's settings are the ones judged.
    const health = JSON.parse((await runCli(['status', '--json'], { env })).stdout).storeHealth as { id: string; status: string; summary: string }[];
    expect(health.find((h) => h.id === 'persistence')!.summary).toMatch(/^no persistence: RDB snapshots off/);
    expect(health.find((h) => h.id === 'eviction')).toMatchObject({ status: 'ok', summary: 'maxmemory-policy noeviction' });
  });

  it('rediss:// against a plain-text port fails fast with a TLS error, exit 2', async () => {
    const plain = await new TestRedis().start();
    servers.push(plain);
    const t = Date.now();
    const r = await runCli(['status'], { env: { THOR_CUTOVER_REDIS_URL: `rediss://:pw@127.0.0.1:${plain.port}` } });
    expect(Date.now() - t).toBeLessThan(6_000);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: .*redis?s?:\/\/\*\*\*@127\.0\.0\.1:\d+/m);
    expect(r.stderr).not.toContain(':pw@');
  });
});
