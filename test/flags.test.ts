import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { TestRedis, uniquePrefix, useTestRedis } from './support/redis.js';
import { runCli } from './support/cli.js';
import { waitFor } from './support/wait.js';

let redis: TestRedis;
let client: Redis;
useTestRedis((r, c) => { redis = r; client = c; });

/** The CLI against the test's Redis, with a prefix of its own. */
function cli(prefix: string, args: string[], env: Record<string, string | undefined> = {}) {
  return runCli(args, { env: { THOR_CUTOVER_REDIS_URL: redis.url, THOR_CUTOVER_PREFIX: prefix, THOR_CUTOVER_ACTOR: 'tester', ...env } });
}

describe('enable / disable write the PROTOCOL.md layout', () => {
  it('one change = hash field, rev +1, one audit entry, one event', async () => {
    const p = uniquePrefix('layout');
    const sub = redis.client();
    const events: string[] = [];
    await sub.subscribe(`${p}:events`);
    sub.on('message', (_c, m) => events.push(m));

    const r = await cli(p, ['enable', 'account_balance', '--reason', 'week 1 cutover']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('account_balance: REST → WS (rev 1');

    expect(await client.type(`${p}:flags`)).toBe('hash');
    expect(await client.type(`${p}:rev`)).toBe('string');
    expect(await client.type(`${p}:audit`)).toBe('stream');
    expect(await client.hgetall(`${p}:flags`)).toEqual({ account_balance: 'true' });
    expect(await client.get(`${p}:rev`)).toBe('1');
    const audit = await client.xrange(`${p}:audit`, '-', '+');
    expect(audit).toHaveLength(1);
    const fields = Object.fromEntries(chunk(audit[0]![1]));
    expect(fields).toMatchObject({ feature: 'account_balance', from: 'false', to: 'true', actor: 'tester', reason: 'week 1 cutover', rev: '1', forced: 'false' });
    expect(new Date(fields.at!).toISOString()).toBe(fields.at);
    // no other keys under the prefix
    expect((await client.keys(`${p}*`)).sort()).toEqual([`${p}:audit`, `${p}:flags`, `${p}:rev`].sort());

    await waitFor(() => events.length === 1, 10_000, 'the first flag event');
    const ev = JSON.parse(events[0]!);
    expect(ev).toEqual({ feature: 'account_balance', enabled: true, previous: false, actor: 'tester', reason: 'week 1 cutover', rev: 1, at: fields.at });

    const d = await cli(p, ['disable', 'account_balance', '--reason', 'rollback: balances lag']);
    expect(d.code).toBe(0);
    await waitFor(() => events.length === 2, 10_000, 'the second flag event');
    expect(JSON.parse(events[1]!)).toMatchObject({ feature: 'account_balance', enabled: false, previous: true, rev: 2 });
    expect(await client.hget(`${p}:flags`, 'account_balance')).toBe('false');
    sub.disconnect();
  });

  it('enabling what is already on is a quiet no-op: exit 0, no new rev, no audit entry', async () => {
    const p = uniquePrefix('noop');
    await cli(p, ['enable', 'account_balance']);
    const r = await cli(p, ['enable', 'account_balance']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('account_balance is already on');
    expect(await client.get(`${p}:rev`)).toBe('1');
    expect(await client.xlen(`${p}:audit`)).toBe(1);
  });

  it('a missing field is pinned (the backend may follow an env var this shell cannot see); a stored value is read as the backend reads it', async () => {
    const p = uniquePrefix('pin');
    const off = await cli(p, ['disable', 'positions', '--reason', 'pin off']);
    expect(off.code).toBe(0);
    expect(off.stdout).toContain('positions: REST, now pinned in Redis');
    expect(await client.hget(`${p}:flags`, 'positions')).toBe('false');
    const again = await cli(p, ['disable', 'positions']);
    expect(again.stdout).toContain('positions is already off');
    expect(await client.get(`${p}:rev`)).toBe('1');
    await client.hset(`${p}:flags`, 'account_balance', ' True ');
    const spaced = await cli(p, ['enable', 'account_balance']);
    expect(spaced.stdout).toContain('account_balance is already on');
    expect(await client.get(`${p}:rev`)).toBe('1');
  });

  it('--dry-run says what would change and writes nothing', async () => {
    const p = uniquePrefix('dry');
    const r = await cli(p, ['enable', 'account_balance', '--dry-run']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/would change account_balance: REST → WS/);
    expect(await client.keys(`${p}*`)).toEqual([]);
    const j = await cli(p, ['enable', 'positions', '--dry-run', '--json']);
    expect(j.code).toBe(1); // the real enable would be refused, so the dry run says so
    expect(JSON.parse(j.stdout)).toMatchObject({ schemaVersion: 1, kind: 'change', result: 'refused', blockers: ['account_balance'] });
    expect(await client.keys(`${p}*`)).toEqual([]);
  });
});

describe('the cutover order', () => {
  it('refuses an enable while an earlier feature is off, exit 1, nothing written', async () => {
    const p = uniquePrefix('order');
    const r = await cli(p, ['enable', 'intraday']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('enable intraday refused: account_balance, positions come earlier in the cutover order');
    expect(r.stderr).toContain('hint: thor-cutover enable account_balance first, or pass --force');
    expect(await client.keys(`${p}*`)).toEqual([]);
  });

  it('--force goes through and is recorded as forced', async () => {
    const p = uniquePrefix('force');
    const r = await cli(p, ['enable', 'positions', '--force', '--reason', 'hotfix']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('forced past the cutover order: account_balance still off');
    const audit = await client.xrange(`${p}:audit`, '-', '+');
    expect(audit).toHaveLength(1);
    expect(Object.fromEntries(chunk(audit[0]![1]))).toMatchObject({ feature: 'positions', forced: 'true' });
    const h = await cli(p, ['history', '--json']);
    expect(JSON.parse(h.stdout).entries[0]).toMatchObject({ feature: 'positions', forced: true, reason: 'hotfix' });
  });

  it('an env var that is on counts for the order (effective value), a Redis "false" beats it', async () => {
    const p = uniquePrefix('envorder');
    await passVerify(p, 'account_balance'); // the verify gate: see test/verify-gate.test.ts
    const ok = await cli(p, ['enable', 'positions'], { WS_FEATURE_ACCOUNT_BALANCE: 'true' });
    expect(ok.code).toBe(0);
    await client.hset(`${p}:flags`, 'account_balance', 'false');
    const refused = await cli(p, ['enable', 'intraday'], { WS_FEATURE_ACCOUNT_BALANCE: 'true' });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('account_balance comes earlier');
  });

  it('disabling a feature while a later one is on warns and still rolls back', async () => {
    const p = uniquePrefix('rollback');
    await cli(p, ['enable', 'account_balance']);
    await passVerify(p, 'account_balance');
    await cli(p, ['enable', 'positions']);
    const r = await cli(p, ['disable', 'account_balance', '--reason', 'rollback']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('warning: positions is later in the cutover order and still on');
    expect(await client.hget(`${p}:flags`, 'account_balance')).toBe('false');
  });
});

describe('two operators at the same moment', () => {
  it('concurrent enables/disables from separate processes: no lost update, revs strictly increase', async () => {
    const p = uniquePrefix('race');
    await client.hset(`${p}:flags`, 'account_balance', 'true'); // lets positions be toggled freely
    await passVerify(p, 'account_balance');
    const runs = await Promise.all(
      Array.from({ length: 8 }, (_, i) => cli(p, [i % 2 ? 'disable' : 'enable', 'positions', '--json', '--actor', `op${i}`])),
    );
    for (const r of runs) expect(r.code).toBe(0);
    const results = runs.map((r) => JSON.parse(r.stdout) as { result: string; rev: number; actor: string });
    const changed = results.filter((r) => r.result === 'changed');
    const rev = Number(await client.get(`${p}:rev`));
    expect(rev).toBe(changed.length);
    expect(new Set(changed.map((c) => c.rev)).size).toBe(changed.length);
    const audit = await client.xrange(`${p}:audit`, '-', '+');
    expect(audit).toHaveLength(changed.length);
    const revs = audit.map(([, f]) => Number(Object.fromEntries(chunk(f)).rev));
    expect(revs).toEqual([...revs].sort((a, b) => a - b));
    expect(revs).toEqual(Array.from({ length: changed.length }, (_, i) => i + 1));
    // every changed outcome's actor is in the audit stream
    const actors = audit.map(([, f]) => Object.fromEntries(chunk(f)).actor).sort();
    expect(actors).toEqual(changed.map((c) => c.actor).sort());
    // the final flag agrees with the last audit entry
    const last = Object.fromEntries(chunk(audit[audit.length - 1]![1]));
    expect(await client.hget(`${p}:flags`, 'positions')).toBe(last.to);
  });
});

describe('status', () => {
  it('shows mode, source, next, the last change, and warns on env drift', async () => {
    const p = uniquePrefix('status');
    await cli(p, ['enable', 'account_balance', '--reason', 'week 1']);
    const r = await cli(p, ['status', '--json'], { WS_FEATURE_ACCOUNT_BALANCE: 'false', WS_FEATURE_INTRADAY: '1' });
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s).toMatchObject({ schemaVersion: 1, kind: 'status', mode: 'PARTIAL', next: 'positions', rev: 1 });
    expect(s.features.map((f: { name: string }) => f.name)).toEqual(['account_balance', 'positions', 'intraday', 'global_market']);
    expect(s.features[0]).toMatchObject({ enabled: true, source: 'redis', lastChange: { actor: 'tester', reason: 'week 1', rev: 1 } });
    expect(s.features[2]).toMatchObject({ enabled: false, source: 'env', envValue: '1' });
    expect(r.stderr).toContain('WS_FEATURE_ACCOUNT_BALANCE=false disagrees with Redis (on); Redis wins');
    expect(r.stderr).toContain('WS_FEATURE_INTRADAY=1 is not true/false: a backend reads it as off');

    const plain = await cli(p, ['status']);
    expect(plain.stdout.split('\n')[0]).toMatch(/^account_balance\tWS\tredis\ttester\t\S+\tweek 1\t-$/);
  });

  it('SHADOW with nothing set, FULL with everything on, and unknown hash fields are flagged', async () => {
    const p = uniquePrefix('modes');
    expect(JSON.parse((await cli(p, ['status', '--json'])).stdout).mode).toBe('SHADOW');
    await client.hset(`${p}:flags`, { account_balance: 'true', positions: 'true', intraday: 'true', global_market: 'true', balances: 'true' });
    const r = await cli(p, ['status', '--json']);
    expect(JSON.parse(r.stdout)).toMatchObject({ mode: 'FULL', next: null, unknownFlags: ['balances'] });
    expect(r.stderr).toContain('not configured features: balances');
  });
});

describe('history', () => {
  it('newest first, filtered by --feature, limited by --limit', async () => {
    const p = uniquePrefix('hist');
    await cli(p, ['enable', 'account_balance', '-r', 'one']);
    await passVerify(p, 'account_balance');
    await cli(p, ['enable', 'positions', '-r', 'two']);
    await cli(p, ['disable', 'positions', '-r', 'three']);
    const all = JSON.parse((await cli(p, ['history', '--json'])).stdout);
    expect(all.entries.map((e: { reason: string }) => e.reason)).toEqual(['three', 'two', 'one']);
    const pos = JSON.parse((await cli(p, ['history', '--json', '--feature', 'positions', '--limit', '1'])).stdout);
    expect(pos.entries).toHaveLength(1);
    expect(pos.entries[0]).toMatchObject({ feature: 'positions', reason: 'three', from: true, to: false, rev: 3 });
    const plain = await cli(p, ['history', '--feature', 'account_balance']);
    expect(plain.stdout.trim().split('\t').slice(2, 7)).toEqual(['account_balance', 'REST', 'WS', 'tester', 'one']);
  });

  it('--follow prints changes live, survives a Redis restart, and exits 130 on Ctrl-C', async () => {
    const own = await new TestRedis().start();
    try {
      const p = uniquePrefix('follow');
      const env = { THOR_CUTOVER_REDIS_URL: own.url, THOR_CUTOVER_PREFIX: p, THOR_CUTOVER_ACTOR: 'tester' };
      const { spawnCli } = await import('./support/spawn.js');
      const follower = spawnCli(['history', '--follow'], { env });
      await follower.waitStderr(/following changes/);
      await runCli(['enable', 'account_balance', '-r', 'live one'], { env });
      await follower.waitStdout(/account_balance\tREST\tWS\ttester\tlive one/);
      await own.restart();
      await follower.waitStderr(/reconnected to Redis/, 15_000);
      // The restarted server is empty (no persistence), so account_balance is off again.
      expect((await runCli(['enable', 'account_balance', '-r', 'after restart'], { env })).code).toBe(0);
      await follower.waitStdout(/account_balance\tREST\tWS\ttester\tafter restart/, 10_000);
      const res = await follower.interrupt();
      expect(res.code).toBe(130);
      expect(res.stderr).not.toMatch(/bug|at .*\.js/);
    } finally {
      await own.dispose();
    }
  });
});

describe('history --follow catches up', () => {
  it('prints a change whose event it missed while its subscription was down (read back from the audit stream)', async () => {
    const p = uniquePrefix('catchup');
    const env = { THOR_CUTOVER_REDIS_URL: redis.url, THOR_CUTOVER_PREFIX: p, THOR_CUTOVER_ACTOR: 'tester' };
    const { spawnCli } = await import('./support/spawn.js');
    const follower = spawnCli(['history', '--follow'], { env });
    try {
      await follower.waitStderr(/following changes/);
      // Drop the follower's subscriber connection, then record a change with no event
      // (as if it was published while the follower was away).
      const killer = redis.client();
      await killer.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
      await killer.xadd(`${p}:audit`, '*', 'feature', 'account_balance', 'from', 'false', 'to', 'true', 'actor', 'away-op',
        'reason', 'while you were away', 'rev', '1', 'at', new Date().toISOString(), 'forced', 'false');
      killer.disconnect();
      await follower.waitStderr(/reconnected to Redis/, 15_000);
      await follower.waitStdout(/account_balance\tREST\tWS\taway-op\twhile you were away/, 10_000);
    } finally {
      await follower.interrupt();
    }
  });
});

describe('bad input and faults', () => {
  it('unknown feature: did you mean, the list, exit 2', async () => {
    const r = await cli(uniquePrefix(), ['enable', 'postions']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error: unknown feature "postions" (did you mean "positions"?)');
    expect(r.stderr).toContain('hint: features: account_balance, positions, intraday, global_market');
  });

  it('Redis unreachable: one clear line within ~3 s, exit 2, password never printed', async () => {
    const down = new TestRedis();
    await down.start();
    const port = down.port;
    await down.dispose();
    const t = Date.now();
    const r = await runCli(['status'], { env: { THOR_CUTOVER_REDIS_URL: `redis://admin:hunter2@127.0.0.1:${port}` } });
    expect(Date.now() - t).toBeLessThan(4_000);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`error: cannot reach Redis at redis://***@127.0.0.1:${port}: connection refused`);
    expect(r.stderr + r.stdout).not.toContain('hunter2');
  });

  it('a server that accepts TCP and never answers: times out within ~4 s, exit 2', async () => {
    const { createServer } = await import('node:net');
    const sockets: import('node:net').Socket[] = [];
    const srv = createServer((s) => sockets.push(s)).listen(0, '127.0.0.1');
    await new Promise((r) => srv.once('listening', r));
    const port = (srv.address() as { port: number }).port;
    try {
      const t = Date.now();
      const r = await runCli(['enable', 'account_balance'], { env: { THOR_CUTOVER_REDIS_URL: `redis://127.0.0.1:${port}` } });
      expect(Date.now() - t).toBeLessThan(6_000);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/error: cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+: timed out/);
    } finally {
      for (const s of sockets) s.destroy();
      srv.close();
    }
  });

  it('wrong password: refused credentials, exit 2, nothing written, secret not echoed', async () => {
    const secured = await new TestRedis({ password: 's3cret-pw' }).start();
    try {
      const bad = `redis://:wrong-pw@127.0.0.1:${secured.port}`;
      const r = await runCli(['enable', 'account_balance'], { env: { THOR_CUTOVER_REDIS_URL: bad } });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`error: Redis at redis://***@127.0.0.1:${secured.port} refused the credentials`);
      expect(r.stderr + r.stdout).not.toContain('wrong-pw');
      const c = secured.client();
      expect(await c.keys('*')).toEqual([]);
      c.disconnect();
      const ok = await runCli(['enable', 'account_balance', '--json'], { env: { THOR_CUTOVER_REDIS_URL: secured.url } });
      expect(ok.code).toBe(0);
      expect(ok.stdout).not.toContain('s3cret-pw');
      expect(JSON.parse(ok.stdout).store).toBe(`redis://***@127.0.0.1:${secured.port}`);
    } finally {
      await secured.dispose();
    }
  });

  it('Redis stopped mid-run: the next command fails cleanly, state intact after restart', async () => {
    const own = await new TestRedis().start();
    try {
      const env = { THOR_CUTOVER_REDIS_URL: own.url, THOR_CUTOVER_PREFIX: '{thor:cutover}' };
      expect((await runCli(['enable', 'account_balance'], { env })).code).toBe(0);
      await own.stop();
      const r = await runCli(['enable', 'positions'], { env });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^error: cannot reach Redis/m);
      await own.start(); // nothing persisted: a fresh, empty server on the same port
      const s = await runCli(['status', '--json'], { env });
      expect(s.code).toBe(0);
    } finally {
      await own.dispose();
    }
  });

  it('a bad config names the file, the field and what was expected; exit 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'thor-cfg-'));
    const file = join(dir, 'thor-cutover.config.json');
    writeFileSync(file, JSON.stringify({ features: { intraday: { interval: 'often', wsTypes: 5 } }, redis: { url: 'http://nope' } }));
    const r = await runCli(['status'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`error: invalid config in ${file} (3 problems):\n  location: features.intraday.wsTypes`);
    expect(r.stderr).toContain("location: features.intraday.interval, expected: duration");
    expect(r.stderr).toContain('location: features.intraday.wsTypes, expected: string or array of strings');
    expect(r.stderr).toContain('location: redis.url, expected: redis://');

    writeFileSync(file, '{ "features": { , } }');
    const j = await runCli(['status'], { cwd: dir });
    expect(j.code).toBe(2);
    expect(j.stderr).toContain(`error: config ${file} is not valid JSON`);

    const missing = await runCli(['status', '--config', join(dir, 'nope.json')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('cannot read config');
  });

  it('a config can rename, add and remove features; status follows it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'thor-cfg-'));
    writeFileSync(join(dir, 'thor-cutover.config.json'), JSON.stringify({
      features: {
        global_market: null,
        account_balance: { wsTypes: ['balances', 'account_balance'], fieldMap: { net_liq: 'net_liquidation' }, cadence: 'event' },
        vwap: { order: 5, restPath: '/api/vwap/', interval: '5s', key: 'symbol', envVar: 'WS_FEATURE_VWAP' },
      },
    }));
    const p = uniquePrefix('cfg');
    const r = await runCli(['status', '--json'], { cwd: dir, env: { THOR_CUTOVER_REDIS_URL: redis.url, THOR_CUTOVER_PREFIX: p } });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).features.map((f: { name: string }) => f.name)).toEqual(['account_balance', 'positions', 'intraday', 'vwap']);
  });

  it('usage errors exit 2; --help lists the exit codes and exits 0', async () => {
    const u = await runCli(['enable']);
    expect(u.code).toBe(2);
    expect(u.stderr).toContain("missing required argument 'feature'");
    const h = await runCli(['--help']);
    expect(h.code).toBe(0);
    expect(h.stdout).toContain('3    inconclusive');
    const eh = await runCli(['enable', '--help']);
    expect(eh.code).toBe(0);
    expect(eh.stdout).toContain('thor-cutover enable account_balance --reason');
  });
});

/** A passing verify of `feature` recorded now, as `thor-cutover verify` writes it: opens the enable gate. */
async function passVerify(prefix: string, feature: string): Promise<void> {
  const now = new Date().toISOString();
  await client.lpush(`${prefix}:verify:${feature}`, JSON.stringify({ verdict: 'pass', startedAt: now, finishedAt: now, sessions: 1, shadow: false }));
}

function chunk(flat: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
}


describe('one config layer: flags over env over the file over the defaults', () => {
  it('each overridable setting comes from the highest source that gives it, and says which', async () => {
    const { loadConfig } = await import('../src/config/load.js');
    const dir = mkdtempSync(join(tmpdir(), 'thor-layer-'));
    writeFileSync(join(dir, 'thor-cutover.config.json'), JSON.stringify({ redis: { url: 'redis://file:6379', prefix: '{file}' }, backend: { url: 'http://file:8000', token: 'file-token' } }));
    const c = loadConfig({
      cwd: dir, env: { THOR_CUTOVER_REDIS_URL: 'redis://env:6379', THOR_CUTOVER_URL: 'http://env:8000', THOR_CUTOVER_TOKEN: 'env-token' },
      redisUrl: 'redis://flag:6379', timeoutMs: 1_500,
    });
    expect([c.redis.url, c.redis.prefix, c.backend.url, c.backend.token, c.backend.timeoutMs]).toEqual(['redis://flag:6379', '{file}', 'http://env:8000', 'env-token', 1_500]);
    expect(c.sources).toEqual({ 'redis.url': 'flag', 'redis.prefix': 'file', 'backend.url': 'env', 'backend.wsUrl': 'default', 'backend.token': 'env', 'backend.timeout': 'flag' });
    expect(c.backend.tokenFrom).toBe('THOR_CUTOVER_TOKEN');
    expect(c.backend.wsUrl).toBe('ws://env:8000/ws/');
  });

  it('--redis memory:// (the form the error message names) is the in-process store; a bad scheme is still refused', async () => {
    const ok = await runCli(['--redis', 'memory://', 'status', '--json']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout).features.map((f: { name: string }) => f.name)).toEqual(['account_balance', 'positions', 'intraday', 'global_market']);
    const bad = await runCli(['--redis', 'mem://x', 'status']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/location: redis\.url, expected: .*\(memory:\/\/ for an in-process store\), got: "mem:\/\/x"/);
  });
});
