import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { loadConfig } from '../src/config/load.js';
import { parseFault, startSimulator, type Simulator } from '../src/sim/index.js';
import { launchChromium } from './support/browser.js';
import { runCli } from './support/cli.js';
import { uniquePrefix, useTestRedis, type TestRedis } from './support/redis.js';

/**
 * `--report FILE.html` as the people who sign off a cutover see it: a verify run against
 * the simulator with positions drifting, the file opened in a real headless Chromium.
 */

const SPEED = 20;
const TOKEN = 'report-secret-token-7';
const DIR = mkdtempSync(join(tmpdir(), 'thor-report-'));

let redis: TestRedis;
useTestRedis((r) => { redis = r; });
let sim: Simulator;
let chromium: Awaited<ReturnType<typeof launchChromium>>;

beforeAll(async () => {
  sim = await startSimulator({
    config: loadConfig({ cwd: DIR, env: {} }), port: 0, speed: SPEED, seed: 11, faults: [parseFault('drift=positions:2')], token: TOKEN, log: () => undefined,
  });
  chromium = await launchChromium();
});
afterAll(async () => {
  await chromium?.close();
  await sim?.close();
});

type VerifyJson = { verdict: string; exitCode: number; runId: string; features: { feature: string; verdict: string; items: { check: string; status: string }[] }[] };

/** Open a report; every console message of level error, page error and request is kept. */
async function open(file: string): Promise<{ page: Page; errors: string[]; requests: string[] }> {
  const page = await chromium.context.newPage();
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') errors.push(`${m.type()}: ${m.text()}`); });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(`file://${file}`);
  await page.waitForSelector('html[data-charts]', { timeout: 10_000 });
  return { page, errors, requests };
}

/**
 * Pixels drawn on each timeline canvas (non-transparent), by feature name. The page's code
 * is a string: this project type-checks without the DOM library.
 */
function drawnPixels(page: Page): Promise<Record<string, number>> {
  return page.evaluate(`(() => {
    const out = {};
    for (const sec of document.querySelectorAll('section.feature[data-feature]')) {
      const canvas = sec.querySelector('.plot[data-chart="timeline"] canvas');
      if (!canvas) { out[sec.dataset.feature] = -1; continue; }
      const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      let n = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n++;
      out[sec.dataset.feature] = n;
    }
    return out;
  })()`);
}

describe('verify --report', () => {
  it('a drift run: the report draws a chart per feature, says the JSON verdict in the terminal\'s words, and the mismatch marker opens its diff', async () => {
    const json = join(DIR, 'verify.json');
    const html = join(DIR, 'verify.html');
    const r = await runCli([
      'verify', 'account_balance', 'positions', '--shadow', '--session-length', '60s', '--speed', String(SPEED), '--jitter', '150ms',
      '--url', sim.url, '--token', TOKEN, '--json', json, '--report', html,
    ], { env: { THOR_CUTOVER_REDIS_URL: redis.url, THOR_CUTOVER_PREFIX: uniquePrefix('report'), THOR_CUTOVER_ACTOR: 'desk-lead' }, timeoutMs: 30_000 });
    expect(r.stderr).toContain(`report written to ${html}`);
    expect(r.code).toBe(1);
    const doc = JSON.parse(readFileSync(json, 'utf8')) as VerifyJson;
    expect(doc.verdict).toBe('fail');
    expect(doc.features.find((f) => f.feature === 'positions')!.items.find((i) => i.check === 'values')!.status).toBe('fail');

    const text = readFileSync(html, 'utf8');
    expect(text).not.toContain(TOKEN);
    // Self-contained: no script, style, image or frame from anywhere.
    expect(text).not.toMatch(/<(script|img|iframe|link)\b[^>]*\b(src|href)=/i);

    const { page, errors, requests } = await open(html);
    try {
      expect(errors).toEqual([]);
      expect(requests.filter((u) => !u.startsWith('file:') && !u.startsWith('data:'))).toEqual([]);

      // The verdict: the JSON's, in the words the terminal printed.
      const verdict = await page.locator('#verdict').getAttribute('data-verdict');
      const verdictText = (await page.locator('#verdict-text').textContent())!;
      expect(verdict).toBe(doc.verdict);
      expect(verdictText).toBe(doc.verdict.toUpperCase());
      expect(r.stdout).toContain(`verdict: ${verdictText} (exit ${doc.exitCode})`);
      expect(await page.locator('#run-id').textContent()).toBe(doc.runId);
      expect(await page.locator('header').textContent()).toContain('desk-lead');

      // Per feature: its verdict and checklist lines, exactly as the terminal's overall block.
      const overall = r.stdout.slice(r.stdout.indexOf('\noverall\n'));
      for (const f of doc.features) {
        const sec = page.locator(`section.feature[data-feature="${f.feature}"]`);
        expect(await sec.locator('h2 .badge').textContent()).toContain(f.verdict.toUpperCase());
        const lines = await sec.locator('.checklist li').evaluateAll((lis) => lis.map((li) => `${li.querySelector('.mark')!.textContent} ${li.textContent!.replace(li.querySelector('.mark')!.textContent!, '').replace(/^\w+: /, '')}`));
        expect(lines).toHaveLength(f.items.length);
        for (const line of lines) expect(overall).toContain(line);
      }

      // For a screen reader: every table has header cells, every marker a name, every timeline a sentence.
      expect(await page.locator('table').evaluateAll((ts) => ts.filter((t) => t.querySelector('th') === null).length)).toBe(0);
      expect(await page.locator('.marker.mismatch:not([aria-label])').count()).toBe(0);
      expect(await page.locator('section[data-feature="positions"] figure p.sr-only').first().textContent()).toMatch(/^Chart summary: [\d,]+ messages, longest interval .*, [1-9]\d* mismatches/);

      // One chart per feature, drawn.
      const pixels = await drawnPixels(page);
      expect(Object.keys(pixels).sort()).toEqual(doc.features.map((f) => f.feature).sort());
      for (const [name, n] of Object.entries(pixels)) expect(n, name).toBeGreaterThan(2_000);

      // The first mismatch marker of positions opens its field-by-field diff.
      const positions = page.locator('section.feature[data-feature="positions"]');
      const marker = positions.locator('.marker.mismatch').first();
      const diff = positions.locator('.diff');
      expect(await diff.isHidden()).toBe(true);
      await marker.click();
      expect(await diff.isVisible()).toBe(true);
      expect(await marker.getAttribute('aria-expanded')).toBe('true');
      const row = diff.locator('table.diff-fields tbody tr').first();
      expect(await row.locator('th').textContent()).toBe('positions[0].quantity');
      const [rest, ws] = await row.locator('td').allTextContents();
      expect(Number(rest)).not.toBeNaN();
      expect(Number(ws)).not.toBeNaN();
      expect(rest).not.toBe(ws);
      expect(await diff.textContent()).toMatch(/REST request sent [\d:.]+, answered [\d:.]+ UTC; the nearest WS message arrived/);
      await page.screenshot({ path: join(DIR, 'verify-report.png'), fullPage: true });
      expect(statSync(join(DIR, 'verify-report.png')).size).toBeGreaterThan(20_000);

      // The keyboard: the table's diff button toggles the same panel.
      const button = positions.locator('button.diff-toggle[data-index="0"]');
      await button.focus();
      await page.keyboard.press('Enter');
      expect(await diff.isHidden()).toBe(true);
      await page.keyboard.press('Enter');
      expect(await diff.isVisible()).toBe(true);

      // A phone: nothing wider than the screen; dark mode: another background.
      const light = await page.evaluate('getComputedStyle(document.body).backgroundColor');
      await page.setViewportSize({ width: 390, height: 800 });
      await page.emulateMedia({ colorScheme: 'dark' });
      await page.waitForTimeout(300); // the charts redraw after a debounced resize
      expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
      expect(await page.evaluate('getComputedStyle(document.body).backgroundColor')).not.toBe(light);
      for (const [name, n] of Object.entries(await drawnPixels(page))) expect(n, `${name} (phone, dark)`).toBeGreaterThan(1_000);
      await page.screenshot({ path: join(DIR, 'verify-report-phone-dark.png'), fullPage: true });
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  }, 60_000);
});

describe('parity --report', () => {
  it('a drift run: every feature has its chart, the problem is listed in the terminal\'s words', async () => {
    const html = join(DIR, 'parity.html');
    const r = await runCli(['parity', '--url', sim.url, '--token', TOKEN, '--speed', String(SPEED), '--duration', '3s', '--jitter', '150ms', '--report', html], { timeoutMs: 30_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`report written to ${html}`);
    const { page, errors } = await open(html);
    try {
      expect(errors).toEqual([]);
      expect(await page.locator('#verdict').getAttribute('data-verdict')).toBe('fail');
      const verdictText = (await page.locator('#verdict-text').textContent())!;
      expect(r.stdout).toContain(`✖ ${verdictText}`);
      for (const problem of await page.locator('#verdict li').allTextContents()) expect(r.stdout).toContain(`✖ ${problem}`);
      const pixels = await drawnPixels(page);
      expect(Object.keys(pixels)).toEqual(['account_balance', 'positions', 'intraday', 'global_market']);
      for (const [name, n] of Object.entries(pixels)) expect(n, name).toBeGreaterThan(2_000);
      expect(await page.locator('section[data-feature="positions"] .marker.mismatch').count()).toBeGreaterThan(0);
      expect(await page.locator('section[data-feature="account_balance"] .marker.mismatch').count()).toBe(0);
    } finally {
      await page.close();
    }
  }, 60_000);

  it('a report that cannot be written is refused before the run (exit 2, with a hint)', async () => {
    const r = await runCli(['parity', '--url', sim.url, '--duration', '1s', '--report', join(DIR, 'no-such-folder', 'r.html')], { timeoutMs: 15_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`error: cannot write the report to ${join(DIR, 'no-such-folder', 'r.html')}: no such folder`);
    expect(r.stderr).toMatch(/^hint: /m);
    expect(r.stdout).toBe('');
  });
});
