// The README's picture of an HTML report, made from a real run: the simulator with positions
// drifting, a socket the server drops now and then and a REST endpoint that sometimes
// fails; parity writes the report; headless Chromium (Debian's chromium) takes the picture.
//   node scripts/report-screenshot.mjs [--out docs/report.png] [--dark] [--keep]
// Needs a build (npm run build) and `apt-get install -y chromium`.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { loadConfig } from '../dist/config/load.js';
import { parseFault, startSimulator } from '../dist/sim/index.js';

const { values: args } = parseArgs({ options: { out: { type: 'string', default: 'docs/report.png' }, dark: { type: 'boolean' }, keep: { type: 'boolean' } } });
const dir = mkdtempSync(join(tmpdir(), 'thor-report-shot-'));
const report = join(dir, 'parity.html');
const speed = 20;
const sim = await startSimulator({
  config: loadConfig({ cwd: dir, env: {} }), port: 0, speed, seed: 3, log: () => undefined,
  sessionOpenMs: 120_000, sessionClosedMs: 60_000,
  faults: ['drift=positions:4', 'disconnect=150s', 'rest500=positions:0.1'].map(parseFault),
});
try {
  const code = await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/thor-cutover.js', 'parity', 'account_balance', 'positions', '--url', sim.url, '--speed', String(speed),
      '--duration', '14s', '--jitter', '150ms', '--report', report], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, THOR_CUTOVER_ACTOR: 'desk-lead@thor' } });
    child.on('error', reject);
    child.on('close', resolve);
  });
  if (!existsSync(report)) throw new Error(`parity exited ${code} without a report`);
} finally {
  await sim.close();
}

const profile = join(dir, 'profile');
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', headless: true,
  viewport: { width: 1280, height: 1500 }, deviceScaleFactor: 1, colorScheme: args.dark ? 'dark' : 'light',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
try {
  const page = await context.newPage();
  await page.goto(`file://${report}`);
  await page.waitForSelector('html[data-charts]');
  // The positions section, its first mismatch's diff open.
  await page.locator('section[data-feature="positions"] .marker.mismatch').first().click();
  await page.evaluate(() => window.scrollTo(0, 0));
  const top = await page.locator('section[data-feature="positions"]').boundingBox();
  const diff = await page.locator('section[data-feature="positions"] .diff').boundingBox();
  await page.screenshot({ path: args.out, clip: { x: 0, y: 0, width: 1280, height: Math.min(diff.y + diff.height + 16, top.y + 1500) }, fullPage: true });
  console.log(`${args.out} (report: ${args.keep ? report : 'removed'})`);
} finally {
  await context.close();
  if (!args.keep) rmSync(dir, { recursive: true, force: true });
}
