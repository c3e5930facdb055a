import { existsSync, readFileSync, rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runCli } from './support/cli.js';

describe('demo --fast: the runbook end to end against the built-in simulator', () => {
  it('runs every step with its expected exit code and exits 0, with no Redis', async () => {
    // THOR_CUTOVER_REDIS_URL is unset by runCli: the demo must work on the in-process store.
    const r = await runCli(['demo', '--fast'], { timeoutMs: 120_000 });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const steps = r.stdout.match(/^── \d+\/10 .*$/gm) ?? [];
    expect(steps).toHaveLength(10);
    expect(r.stdout.match(/✔ exit \d, as expected/g)).toHaveLength(10);
    // the real commands ran, with their real output
    expect(r.stdout).toContain('$ thor-cutover enable account_balance --reason \'week 1 cutover\'');
    expect(r.stdout).toContain('account_balance: REST → WS (rev 1, by demo)');
    expect(r.stdout).toMatch(/positions\[0\]\.\w+ +REST \S+ +WS \S+/); // the drift, shown as a diff
    expect(r.stdout).toContain('account_balance: WS → REST (rev 2, by demo)');
    expect(r.stdout).toMatch(/demo passed: 10 steps behaved as expected/);
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
    expect(doc.steps).toHaveLength(10);
    expect(doc.steps.map((s: { expected: number }) => s.expected)).toEqual([0, 0, 0, 0, 0, 1, 0, 0, 1, 0]);
    for (const s of doc.steps) expect(s.exitCode).toBe(s.expected);
    expect(existsSync(doc.report)).toBe(true);
    rmSync(doc.report);
  }, 150_000);
});
