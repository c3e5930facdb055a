import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryFlagStore } from '../src/store/memory.js';
import { RedisFlagStore } from '../src/store/redis.js';
import type { ChangeOutcome, ChangeRequest, FlagStore } from '../src/store/types.js';
import { TestRedis, uniquePrefix } from './support/redis.js';

/**
 * One table of cases, run against the Redis store (the Lua script, on a real redis-server)
 * and the in-process store (its TypeScript twin): both must decide every case the same way.
 */
let redis: TestRedis;
beforeAll(async () => { redis = await new TestRedis().start(); });
afterAll(async () => { await redis.dispose(); });

const STORES: [string, () => Promise<FlagStore>][] = [
  ['redis', () => RedisFlagStore.connect({ url: redis.url, prefix: uniquePrefix('contract'), oneShot: true })],
  ['memory', async () => new MemoryFlagStore()],
];

const req = (feature: string, enabled: boolean, more: Partial<ChangeRequest> = {}): ChangeRequest => ({
  feature, enabled, actor: 'test', reason: 'contract', forced: false, envFallback: false, requireOn: [], ...more,
});
const on = (...features: string[]) => features.map((feature) => ({ feature, envFallback: false }));
const status = (o: ChangeOutcome) => (o.status === 'refused' ? `refused ${o.blockers.join(',')}` : o.status);

interface Case {
  name: string;
  /** Run on a fresh store; returns what the store said at each step, then its flags. */
  run(s: FlagStore): Promise<string[]>;
  expect: string[];
}

const CASES: Case[] = [
  {
    name: 'an enable, then the same enable again: changed, then a no-op at the same rev',
    run: async (s) => [status(await s.change(req('a', true))), status(await s.change(req('a', true))), String((await s.snapshot()).rev)],
    expect: ['changed', 'noop', '1'],
  },
  {
    name: 'the cutover order: refused while an earlier feature is off, naming it; forced goes through',
    run: async (s) => [
      status(await s.change(req('b', true, { requireOn: on('a') }))),
      status(await s.change(req('b', true, { requireOn: on('a'), forced: true }))),
      JSON.stringify((await s.snapshot()).raw),
    ],
    expect: ['refused a', 'changed', '{"b":"true"}'],
  },
  {
    name: 'an earlier feature on through its env fallback counts as on',
    run: async (s) => [status(await s.change(req('b', true, { requireOn: [{ feature: 'a', envFallback: true }] })))],
    expect: ['changed'],
  },
  {
    name: 'a missing field is pinned: disabling a feature the env has off still writes it',
    run: async (s) => [status(await s.change(req('a', false))), JSON.stringify((await s.snapshot()).raw)],
    expect: ['changed', '{"a":"false"}'],
  },
  {
    name: 'a rollback is never refused by the order',
    run: async (s) => [status(await s.change(req('a', true))), status(await s.change(req('b', true, { requireOn: on('a') }))), status(await s.change(req('a', false)))],
    expect: ['changed', 'changed', 'changed'],
  },
  {
    name: 'the verify gate\'s guard: the evidence as judged goes through',
    run: async (s) => {
      await s.change(req('a', true));
      await s.pushVerify('a', { runId: 'r1', verdict: 'pass' });
      const guard = { rev: (await s.snapshot()).rev, verifyFeature: 'a', verifyHead: await s.verifyHead('a') };
      return [status(await s.change(req('b', true, { requireOn: on('a'), guard })))];
    },
    expect: ['changed'],
  },
  {
    name: 'the guard: a verify record written after the gate was judged makes the change stale, nothing written',
    run: async (s) => {
      await s.change(req('a', true));
      await s.pushVerify('a', { runId: 'r1', verdict: 'pass' });
      const guard = { rev: (await s.snapshot()).rev, verifyFeature: 'a', verifyHead: await s.verifyHead('a') };
      await s.pushVerify('a', { runId: 'r2', verdict: 'fail' });
      return [status(await s.change(req('b', true, { requireOn: on('a'), guard }))), JSON.stringify((await s.snapshot()).raw)];
    },
    expect: ['stale', '{"a":"true"}'],
  },
  {
    name: 'the guard: a flag change after the gate was judged (the previous feature off and on again) makes it stale',
    run: async (s) => {
      await s.change(req('a', true));
      const guard = { rev: (await s.snapshot()).rev, verifyFeature: 'a', verifyHead: await s.verifyHead('a') };
      await s.change(req('a', false));
      await s.change(req('a', true));
      return [status(await s.change(req('b', true, { requireOn: on('a'), guard }))), String((await s.snapshot()).rev)];
    },
    expect: ['stale', '3'],
  },
  {
    name: 'the audit stream: one entry per change, newest first, with the rev and who',
    run: async (s) => {
      await s.change(req('a', true));
      await s.change(req('a', false, { actor: 'ops' }));
      return (await s.history({ limit: 10 })).map((e) => `${e.rev} ${e.feature} ${e.from}->${e.to} ${e.actor}`);
    },
    expect: ['2 a true->false ops', '1 a false->true test'],
  },
];

describe.each(STORES)('the %s store', (_name, open) => {
  for (const c of CASES) {
    it(c.name, async () => {
      const s = await open();
      try {
        expect(await c.run(s)).toEqual(c.expect);
      } finally {
        await s.close();
      }
    });
  }
});

describe('the Redis store\'s script', () => {
  it('is sent once and then called by its SHA (EVALSHA), and survives a SCRIPT FLUSH', async () => {
    const s = await RedisFlagStore.connect({ url: redis.url, prefix: uniquePrefix('sha'), oneShot: true });
    const client = redis.client();
    try {
      await client.config('RESETSTAT');
      for (const f of ['a', 'b', 'c']) await s.change(req(f, true));
      const stats = await client.info('commandstats');
      const calls = (name: string) => Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
      // Three changes: the script text crosses the wire at most once, every other call is by SHA.
      expect(calls('evalsha') + calls('eval')).toBe(3);
      expect(calls('eval')).toBeLessThanOrEqual(1);
      expect(calls('evalsha')).toBeGreaterThanOrEqual(2);
      await client.script('FLUSH');
      expect(status(await s.change(req('d', true)))).toBe('changed');
    } finally {
      client.disconnect();
      await s.close();
    }
  });
});
