import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load.js';
import type { FeatureConfig } from '../src/config/types.js';
import { parseFault, startSimulator } from '../src/sim/index.js';
import { createEngine } from '../src/stream/engine.js';
import type { EngineSnapshot, Finding, StreamEvent } from '../src/stream/types.js';

/**
 * The engine against the real simulator at --speed 20, one run per fault: each fault must
 * be reported as what it is, with its feature and key, and nothing else may be.
 */

const SPEED = 20;
const CWD = mkdtempSync(join(tmpdir(), 'parity-engine-'));

interface RunOptions {
  faults?: string[];
  /** Replace features before the engine sees them. */
  features?: (fs: FeatureConfig[]) => FeatureConfig[];
  /** Observe at least this long (real ms)... */
  minMs?: number;
  /** ...and until this holds, at most maxMs. */
  until?: (s: EngineSnapshot) => boolean;
  maxMs?: number;
  sessions?: { open: number; closed: number };
}

async function observe(o: RunOptions = {}): Promise<{ snap: EngineSnapshot; events: StreamEvent[] }> {
  const base = loadConfig({ cwd: CWD, env: {} });
  const sim = await startSimulator({
    config: base, port: 0, speed: SPEED, seed: 11, faults: (o.faults ?? []).map(parseFault),
    sessionOpenMs: o.sessions?.open ?? 120_000, sessionClosedMs: o.sessions?.closed ?? 20_000, log: () => undefined,
  });
  try {
    const loaded = loadConfig({ cwd: CWD, env: {}, url: sim.url });
    const config = o.features ? { ...loaded, features: o.features(loaded.features) } : loaded;
    const features = config.features;
    // A wider jitter allowance than the CLI default: several helpers share two cores.
    const engine = createEngine({ config, features, speed: SPEED, slackMs: 60, restTimeoutMs: 400 });
    const events: StreamEvent[] = [];
    engine.onAny((e) => events.push(e));
    const contact = await engine.start();
    expect(contact.ws).toBe(true);
    const t0 = Date.now();
    const minMs = o.minMs ?? 2_500;
    const maxMs = o.maxMs ?? 10_000;
    await new Promise<void>((resolve) => {
      const t = setInterval(() => {
        const el = Date.now() - t0;
        if (el >= maxMs || (el >= minMs && (!o.until || o.until(engine.snapshot())))) { clearInterval(t); resolve(); }
      }, 50);
    });
    await engine.stop();
    return { snap: engine.snapshot(), events };
  } finally {
    await sim.close();
  }
}

const checks = (fs: Finding[]) => fs.map((f) => `${f.check}:${f.feature ?? '-'}`).sort();
const enough = (s: EngineSnapshot) => s.overall.features.every((f) => f.match.compared >= 3 && f.ws.messages >= 5);

describe('parity engine against the simulator', () => {
  it('a clean run: zero mismatches, every interval within tolerance, sessions tracked', async () => {
    const { snap } = await observe({
      sessions: { open: 30_000, closed: 10_000 },
      minMs: 3_000,
      maxMs: 12_000,
      until: (s) => s.sessionsCompleted >= 2 && enough(s),
    });
    expect(snap.overall.findings).toEqual([]);
    for (const f of snap.overall.features) {
      expect(f.ws.messages, f.name).toBeGreaterThan(0);
      expect(f.match.compared, f.name).toBeGreaterThan(0);
      expect(f.match.mismatched, f.name).toBe(0);
      expect(f.interval!.p95!, f.name).toBeLessThanOrEqual(f.intervalLimitMs!);
    }
    expect(snap.connection.reconnects).toBe(0);
    expect(snap.connection.rtt.ws.count).toBeGreaterThan(0);
    expect(snap.connection.rtt.protocol.count).toBeGreaterThan(0);
    expect(snap.unknownTypes).toEqual([]);
    // The simulator starts USA closed: the first session is whole, and each one has its own numbers.
    expect(snap.sessionsCompleted).toBeGreaterThanOrEqual(2);
    const complete = snap.sessions.filter((s) => s.session.closedAt !== null);
    // A session under way at connect is partial and not counted.
    expect(complete.filter((s) => !s.session.partial).length).toBe(snap.sessionsCompleted);
    for (const s of complete) {
      expect(s.findings).toEqual([]);
      expect(s.features.find((f) => f.name === 'intraday')!.ws.messages).toBeGreaterThan(0);
    }
  });

  it.concurrent.each([
    ['drift=positions:3', ['mismatch:positions']],
    ['slow=account_balance:2', ['interval:account_balance']],
    ['drop=intraday:NQ', ['missing-key:intraday']],
    ['missing=account_balance:cash', ['schema:account_balance']],
    ['error=10', ['error-messages:-']],
    ['disconnect=30', ['reconnects:-']],
    ['rest500=positions:0.5', ['rest-errors:positions']],
    ['stall=account_balance', ['rest-errors:account_balance']],
    ['badframes=10', ['bad-frames:-']],
  ])('%s is reported as exactly that', async (fault, expected) => {
    const { snap } = await observe({
      faults: [fault],
      until: (s) => checks(s.overall.findings).join() === expected.join() && s.overall.features.every((f) => f.ws.messages >= 5),
    });
    expect(checks(snap.overall.findings), JSON.stringify(snap.overall.findings.map((x) => x.message))).toEqual(expected);
    const f = snap.overall.findings[0]!;
    expect(f.measured).not.toBe('');
    expect(f.limit).not.toBe('');
    switch (fault.split('=')[0]) {
      case 'drift': {
        const m = snap.overall.features.find((x) => x.name === 'positions')!.match.mismatches[0]!;
        expect(m.key).toBe('SIM-0001');
        expect(m.fields.map((d) => d.path)).toEqual(['positions[0].quantity']);
        expect(Number(m.fields[0]!.ws) - Number(m.fields[0]!.rest)).toBe(1);
        expect(f.message).toMatch(/positions: \d+ of \d+ REST polls mismatched .*SIM-0001: positions\[0\]\.quantity REST \d+, WS \d+, nearest WS \d+ ms away/);
        break;
      }
      case 'slow':
        expect(f.message).toMatch(/account_balance: interval p95 [\d.]+ m?s > \d+ ms limit \(expected 500 ms\)/);
        break;
      case 'drop':
        expect(f.key).toBe('NQ');
        expect(f.message).toBe('intraday NQ: on REST, never on WS');
        break;
      case 'missing':
        expect(f.message).toMatch(/account_balance SIM-0001: schema drift: required field "cash" missing on WS/);
        break;
      case 'error':
        expect(f.message).toMatch(/server sent \d+ error_message; first: "/);
        break;
      case 'disconnect':
        expect(snap.connection.reconnects).toBeGreaterThanOrEqual(1);
        expect(snap.connection.closeCodes['1012']).toBeGreaterThanOrEqual(1);
        break;
      case 'rest500':
        expect(f.message).toMatch(/positions: REST \/api\/positions\/: \d+ of \d+ polls failed \(\d+ http-error\); last: HTTP 500/);
        break;
      case 'stall':
        expect(f.message).toMatch(/\d+ timeout\); last: no answer within 400 ms/);
        break;
      case 'badframes':
        expect(snap.connection.badFrames.nonJson).toBeGreaterThan(0);
        break;
    }
  }, 20_000);

  it('a feature whose messages never come is "no data", and the type that came instead is unclaimed', async () => {
    const { snap, events } = await observe({
      features: (fs) => fs.map((f) => (f.name === 'account_balance' ? { ...f, wsTypes: ['account_balance_v2'] } : f)),
      minMs: 1_500,
      until: (s) => s.unknownTypes.length > 0,
    });
    const ab = snap.overall.features.find((f) => f.name === 'account_balance')!;
    expect(ab.ws.messages).toBe(0);
    expect(ab.match.compared).toBe(0);
    expect(checks(snap.overall.findings)).toEqual(['no-data:account_balance']);
    expect(snap.overall.findings[0]!.message).toBe('account_balance: no data: no account_balance_v2 message arrived on WS');
    expect(snap.expectedTypesMissing).toEqual(['account_balance_v2']);
    expect(snap.unknownTypes).toEqual(['account_balance']);
    expect(events.some((e) => e.type === 'unknown-type' && e.wsType === 'account_balance')).toBe(true);
  });
});
