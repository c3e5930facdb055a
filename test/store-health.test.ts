import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { runCli } from './support/cli.js';
import { TestRedis, uniquePrefix } from './support/redis.js';

/**
 * A flag store that cannot silently forget: status and doctor warn when the Redis holding
 * the flags keeps nothing across a restart, may evict the flag keys, or looks reset.
 * Each rule fires on a real redis-server configured with exactly its fault, and stays
 * silent on a healthy one.
 */

let bare: TestRedis; // --save '' --appendonly no
let aof: TestRedis; // --appendonly yes
let rdb: TestRedis; // --save 3600 1
let client: Redis; // to aof

beforeAll(async () => {
  [bare, aof, rdb] = await Promise.all([
    new TestRedis().start(),
    new TestRedis({ persistence: 'aof' }).start(),
    new TestRedis({ persistence: 'rdb' }).start(),
  ]);
  client = aof.client();
});

afterAll(async () => {
  client?.disconnect();
  await Promise.all([bare?.dispose(), aof?.dispose(), rdb?.dispose()]);
});

function cli(url: string, prefix: string, args: string[]) {
  return runCli(args, { env: { THOR_CUTOVER_REDIS_URL: url, THOR_CUTOVER_PREFIX: prefix, THOR_CUTOVER_ACTOR: 'tester' } });
}

interface Finding { id: string; status: string; summary: string; hint: string | null }

async function health(url: string, prefix: string): Promise<{ code: number | null; stderr: string; findings: Map<string, Finding> }> {
  const r = await cli(url, prefix, ['status', '--json']);
  const doc = JSON.parse(r.stdout) as { storeHealth: Finding[] };
  return { code: r.code, stderr: r.stderr, findings: new Map(doc.storeHealth.map((f) => [f.id, f])) };
}

/** doctor's Redis rows (plain output); no backend runs, so only these are looked at. */
async function doctorRows(url: string, prefix: string): Promise<Map<string, { status: string; measured: string; hint: string }>> {
  const r = await runCli(['doctor', '--redis', url, '--prefix', prefix, '--url', 'http://127.0.0.1:1', '--timeout', '1500ms'], { cwd: '/' });
  const out = new Map<string, { status: string; measured: string; hint: string }>();
  for (const line of r.stdout.trim().split('\n')) {
    const [status, id, , measured, hint] = line.split('\t');
    out.set(id!, { status: status!, measured: measured!, hint: hint ?? '' });
  }
  return out;
}

describe('persistence', () => {
  it('a Redis with neither RDB snapshots nor AOF: status warns on stderr (exit 0), doctor warns', async () => {
    const p = uniquePrefix('nopersist');
    const h = await health(bare.url, p);
    expect(h.code).toBe(0);
    expect(h.findings.get('persistence')).toMatchObject({ status: 'warn' });
    expect(h.findings.get('persistence')!.summary).toMatch(/^no persistence: RDB snapshots off \(save ""\), AOF off; up \d+s: a restart forgets every flag/);
    expect(h.stderr).toContain('warning: flag store: no persistence: RDB snapshots off (save ""), AOF off');
    expect(h.stderr).toContain('hint: turn on AOF (CONFIG SET appendonly yes');

    const plain = await cli(bare.url, p, ['status']);
    expect(plain.code).toBe(0);
    expect(plain.stderr).toContain('warning: flag store: no persistence');
    expect(plain.stdout).not.toContain('no persistence');

    const d = await doctorRows(bare.url, p);
    expect(d.get('redis.persistence')).toMatchObject({ status: 'warn' });
    expect(d.get('redis.persistence')!.measured).toContain('RDB snapshots off (save ""), AOF off');
    expect(d.get('redis.persistence')!.hint).toContain('appendonly yes');
  });

  it('AOF on, or RDB snapshots on: no warning', async () => {
    for (const [server, seen] of [[aof, 'AOF on'], [rdb, 'RDB snapshots (save 3600 1), AOF off']] as const) {
      const p = uniquePrefix('persist');
      const h = await health(server.url, p);
      expect(h.code).toBe(0);
      expect(h.findings.get('persistence')).toEqual({ id: 'persistence', status: 'ok', summary: seen, hint: null });
      expect(h.stderr).toBe('');
      const d = await doctorRows(server.url, p);
      expect(d.get('redis.persistence')).toMatchObject({ status: 'pass', measured: seen });
    }
  });

  it('a user who may not run CONFIG (managed Redis, ACL): "could not check", never a failure', async () => {
    await client.call('ACL', 'SETUSER', 'noconfig', 'on', '>pw', '~*', '&*', '+@all', '-config');
    await client.call('ACL', 'SETUSER', 'noadmin', 'on', '>pw', '~*', '&*', '+@all', '-config', '-info');
    const p = uniquePrefix('acl');
    // INFO still answers: AOF and the eviction policy are known, the RDB setting is not. AOF is on, which is enough.
    const limited = `redis://noconfig:pw@127.0.0.1:${aof.port}`;
    let h = await health(limited, p);
    expect(h.code).toBe(0);
    expect(h.findings.get('persistence')).toMatchObject({ status: 'ok', summary: 'AOF on' });
    expect(h.findings.get('eviction')).toMatchObject({ status: 'ok', summary: 'maxmemory-policy noeviction' });

    // Neither INFO nor CONFIG: every setting is unknown; said once, on stderr, exit 0.
    const blind = `redis://noadmin:pw@127.0.0.1:${aof.port}`;
    h = await health(blind, p);
    expect(h.code).toBe(0);
    expect(h.findings.get('persistence')!.status).toBe('unknown');
    expect(h.findings.get('persistence')!.summary).toMatch(/^could not check \(INFO refused: NOPERM.*; CONFIG GET refused: NOPERM/);
    expect(h.findings.get('eviction')!.status).toBe('unknown');
    expect(h.stderr).toContain('note: flag store persistence: could not check (INFO refused');
    expect(h.stderr).not.toContain('warning:');
    const d = await doctorRows(blind, p);
    expect(d.get('redis.persistence')!.status).toBe('skip');
    expect(d.get('redis.persistence')!.measured).toContain('CONFIG GET refused');
    expect(d.get('redis.reachable')!.status).toBe('pass');
  });
});

describe('eviction', () => {
  it('allkeys-* warns; volatile-* warns only when a flag key carries a TTL; a TTL on the flags is named', async () => {
    const p = uniquePrefix('evict');
    expect((await cli(aof.url, p, ['enable', 'account_balance'])).code).toBe(0);
    try {
      await client.config('SET', 'maxmemory-policy', 'allkeys-lru');
      let h = await health(aof.url, p);
      expect(h.findings.get('eviction')!.status).toBe('warn');
      expect(h.findings.get('eviction')!.summary).toBe('maxmemory-policy allkeys-lru, no maxmemory set yet: any key may be evicted, the flags hash included');
      expect(h.stderr).toContain('warning: flag store: maxmemory-policy allkeys-lru');

      await client.config('SET', 'maxmemory-policy', 'volatile-lru');
      h = await health(aof.url, p);
      expect(h.findings.get('eviction')).toMatchObject({ status: 'ok', summary: 'maxmemory-policy volatile-lru (flag keys carry no TTL)' });
      expect(h.stderr).toBe('');

      await client.pexpire(`${p}:flags`, 3_600_000);
      h = await health(aof.url, p);
      expect(h.findings.get('eviction')!.status).toBe('warn');
      expect(h.findings.get('eviction')!.summary).toContain('maxmemory-policy volatile-lru, no maxmemory set yet and the flag keys carry a TTL');
      expect(h.findings.get('eviction')!.summary).toContain(`${p}:flags expires in 60m (it has a TTL)`);
      const d = await doctorRows(aof.url, p);
      expect(d.get('redis.eviction')!.status).toBe('warn');
    } finally {
      await client.config('SET', 'maxmemory-policy', 'noeviction');
    }
    const h = await health(aof.url, uniquePrefix('evict-ok'));
    expect(h.findings.get('eviction')).toMatchObject({ status: 'ok', summary: 'maxmemory-policy noeviction' });
  });
});

describe('a store that looks reset', () => {
  it('consistent after changes: no warning', async () => {
    const p = uniquePrefix('reset-ok');
    expect((await cli(aof.url, p, ['enable', 'account_balance'])).code).toBe(0);
    expect((await cli(aof.url, p, ['disable', 'account_balance'])).code).toBe(0);
    const h = await health(aof.url, p);
    expect(h.findings.get('reset')).toEqual({ id: 'reset', status: 'ok', summary: 'rev 2, 2 audit entries, 1 flag: consistent', hint: null });
    expect(h.stderr).toBe('');
    expect((await health(aof.url, uniquePrefix('fresh'))).findings.get('reset')!.summary).toBe('no flags written under this prefix yet');
  });

  it('flags hash gone while the audit stream and verify records remain: warned, with what to do', async () => {
    const p = uniquePrefix('reset-gone');
    expect((await cli(aof.url, p, ['enable', 'account_balance'])).code).toBe(0);
    await client.lpush(`${p}:verify:account_balance`, JSON.stringify({ verdict: 'pass', finishedAt: new Date().toISOString() }));
    await client.del(`${p}:flags`);
    const h = await health(aof.url, p);
    expect(h.findings.get('reset')!.status).toBe('warn');
    expect(h.findings.get('reset')!.summary).toBe(
      `the store looks reset: ${p}:flags is gone, but the audit stream has 1 entry and verify records exist (${p}:verify:account_balance); backends now read these flags from their env vars or as off`,
    );
    expect(h.stderr).toContain('warning: flag store: the store looks reset');
    expect(h.stderr).toContain('hint: Redis restarted without persistence or evicted keys');
    const d = await doctorRows(aof.url, p);
    expect(d.get('redis.reset')!.status).toBe('warn');
  });

  it('the rev went backwards (rev key evicted or rewritten below the newest audit entry); a lost field is named', async () => {
    const p = uniquePrefix('reset-rev');
    expect((await cli(aof.url, p, ['enable', 'account_balance'])).code).toBe(0);
    expect((await cli(aof.url, p, ['enable', 'positions', '--force'])).code).toBe(0);
    await client.del(`${p}:rev`);
    await client.hdel(`${p}:flags`, 'account_balance');
    const h = await health(aof.url, p);
    expect(h.findings.get('reset')!.status).toBe('warn');
    expect(h.findings.get('reset')!.summary).toContain(`the rev went backwards: ${p}:rev is missing, the newest audit entry has rev 2`);
    expect(h.findings.get('reset')!.summary).toContain('the flags hash lost account_balance (set on at rev 1)');
    await client.set(`${p}:rev`, '1');
    expect((await health(aof.url, p)).findings.get('reset')!.summary).toContain(`${p}:rev is 1, the newest audit entry has rev 2`);
  });
});
