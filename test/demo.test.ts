import { existsSync, readFileSync, rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runCli } from './support/cli.js';

describe('demo --fast: the runbook end to end against the built-in simulator', () => {
  it('runs every step with its expected exit code and exits 0, with no Redis', async () => {
    // THOR_CUTOVER_REDIS_URL is unset by runCli: the demo must work on the in-process store.
    const r = await runCli(['demo', '--fast'], { timeoutMs: 120_000 });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const steps = r.stdout.match(/^── \d+\/12 .*$/gm) ?? [];
    expect(steps).toHaveLength(12);
    expect(r.stdout.match(/✔ exit \d, as expected/g)).toHaveLength(12);
    // init reads the sample's code: the view under another name, and the 1011 bug
    expect(r.stdout).toContain('legacy.views  ["positions_view"]  would set');
    expect(r.stdout).toMatch(/GlobalMarkets\/services\/websocket_broadcast\.py:44: the event type "heartbeat" is sent .* 1011/);
    // the real commands ran, with their real output
    expect(r.stdout).toContain('$ thor-cutover enable account_balance --reason \'week 1 cutover\'');
    expect(r.stdout).toContain('account_balance: REST → WS (rev 1, by demo)');
    expect(r.stdout).toMatch(/positions\[0\]\.\w+ +REST \S+ +WS \S+/); // the drift, shown as a diff
    expect(r.stdout).toContain('account_balance: WS → REST (rev 2, by demo)');
    // the audit step: an include()-mounted route with its full path and view, a frontend poller, docs as mentions
    expect(r.stdout).toMatch(/ActAndPos\/urls\.py:8:5: +path\("positions\/", positions_view, name="positions"\), +\[-> \/api\/positions\/, view positions_view \(ActAndPos\/views\.py:9\)\]/);
    expect(r.stdout).toContain("frontend/src/pollers/positions.ts:4:24: const POSITIONS_URL = '/api/positions/';");
    expect(r.stdout).toMatch(/· docs\/CLEANUP_CHECKLIST\.md:\d+:\d+: - \[ \] Find IntradayJob/);
    expect(r.stdout).toMatch(/mentions: 9 in documentation \(not failing/);
    expect(r.stdout).toMatch(/demo passed: 12 steps behaved as expected/);
    // The drift step wrote its HTML report, and the demo says where.
    const report = /^the drift step's HTML report \(charts, each mismatch's diff\): (\S+\.html)$/m.exec(r.stdout)?.[1];
    expect(report).toBeDefined();
    expect(r.stdout).toContain(`report written to ${report}`);
    const html = readFileSync(report!, 'utf8');
    expect(html).toContain('<span id="verdict-text">1 problem found</span>');
    rmSync(report!);
  }, 150_000);

  it('--json: one document listing every step and its outcome', async () => {
    const r = await runCli(['demo', '--fast', '--json'], { timeoutMs: 120_000 });
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ schemaVersion: 1, kind: 'demo', ok: true });
    expect(doc.steps).toHaveLength(12);
    expect(doc.steps.map((s: { expected: number }) => s.expected)).toEqual([0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 1, 0]);
    for (const s of doc.steps) expect(s.exitCode).toBe(s.expected);
    expect(existsSync(doc.report)).toBe(true);
    rmSync(doc.report);
  }, 150_000);
});
