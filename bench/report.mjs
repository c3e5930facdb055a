#!/usr/bin/env node
// The HTML report of a long run: its size and how long it takes to make and to draw.
// 1M messages over a 24 h run (4 features, ~11.6 msg/s) go through the engine's time series
// (src/stream/series.ts) with mismatches, skipped polls, REST polls and errors, reconnect
// gaps and market sessions; the report is rendered, then opened in headless Chromium until
// every chart is drawn. Baseline: the same report for an empty run (uPlot, styles and
// script only), in the same process and browser. Goal: the 24 h file under 3 MB.
//
//   npm run build && node bench/report.mjs [--messages 1000000] [--hours 24] [--keep]
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { arg, ROOT } from './support.mjs';

const { RunSeries } = await import(join(ROOT, 'dist/stream/series.js'));
const { renderReport } = await import(join(ROOT, 'dist/report/html.js'));

const MESSAGES = Number(arg('--messages', 1_000_000));
const HOURS = Number(arg('--hours', 24));
const T0 = Date.UTC(2026, 0, 5, 0, 0, 0);
const SPAN = HOURS * 3_600_000;
const FEATURES = [
  { name: 'account_balance', expectedMs: 10_000, periodic: true },
  { name: 'positions', expectedMs: 10_000, periodic: true },
  { name: 'intraday', expectedMs: 1_000, periodic: true },
  { name: 'global_market', expectedMs: 10_000, periodic: true },
];
// Messages per feature in proportion to their rate (intraday has several symbols).
const weights = [1, 1, 40, 1];

/** The run's messages, made up front: feature, arrival time and inter-arrival time each. */
function messages() {
  const total = weights.reduce((a, b) => a + b, 0);
  const f = new Uint8Array(MESSAGES);
  const at = new Float64Array(MESSAGES);
  const ms = new Float64Array(MESSAGES);
  for (let i = 0; i < MESSAGES; i++) {
    let r = i % total;
    let k = 0;
    while (r >= weights[k]) { r -= weights[k]; k++; }
    f[i] = k;
    at[i] = T0 + Math.floor((i / MESSAGES) * SPAN);
    const exp = FEATURES[k].expectedMs;
    ms[i] = exp * (1 + (((i * 7919) % 200) - 100) / 1000) * (i % 50_000 === 0 ? 3 : 1);
  }
  return { f, at, ms };
}

function feed(m) {
  const s = new RunSeries(FEATURES, T0, 1_000);
  const t = performance.now();
  for (let i = 0; i < MESSAGES; i++) {
    const f = m.f[i];
    const exp = FEATURES[f].expectedMs;
    s.message(f, m.at[i]);
    s.interval(f, m.at[i], m.ms[i], m.ms[i] > 2 * exp ? 'missed' : m.ms[i] > 1.5 * exp ? 'late' : 'ok');
  }
  const feedMs = performance.now() - t;
  // REST: one poll per feature every interval, 1 in 200 failing; a mismatch every 40th poll of positions.
  for (let at = T0; at < T0 + SPAN; at += 10_000) {
    for (let f = 0; f < FEATURES.length; f++) {
      const n = (at - T0) / 10_000;
      s.restPoll(f, at, 15 + (n % 17) + (n % 997 === 0 ? 900 : 0), n % 200 !== 7);
      if (n % 200 === 7) s.restError(f, at, 'http-error', 500, `/api/${FEATURES[f].name}/: HTTP 500`);
      if (f === 1 && n % 40 === 3) {
        s.decision(f, {
          kind: 'mismatch', noise: [],
          record: { feature: 'positions', key: 'SIM-0001', at, version: new Date(at).toISOString(), fields: [{ path: 'positions[0].quantity', rest: n % 9, ws: (n % 9) + 1 }], skewMs: -380 },
          detail: { restSentAt: at - 14, wsAt: at - 390, rest: flat(n, 0), ws: flat(n, 1) },
        });
      }
      if (f === 2 && n % 300 === 5) s.decision(f, { kind: 'unmatched', key: 'ES', at, reason: 'no-ws-in-window' });
    }
    if ((at - T0) % 3_600_000 === 1_800_000) { s.close(at, 1006, ''); s.gap(at, at + 4_000, 12); }
  }
  return { s, feedMs };
}

function flat(n, d) {
  const m = new Map([['account_id', 'SIM-0001'], ['positions[0].symbol', 'ES'], ['positions[0].quantity', (n % 9) + d]]);
  for (let k = 0; k < 12; k++) m.set(`positions[0].field_${k}`, 1000 + k);
  return m;
}

/** The same loop, counting each message into a per-second array only: the floor for any series. */
function baselineFeed(m) {
  const counts = new Uint32Array(Math.ceil(SPAN / 1000) + 1);
  let late = 0;
  const t = performance.now();
  for (let i = 0; i < MESSAGES; i++) {
    const exp = FEATURES[m.f[i]].expectedMs;
    counts[Math.floor((m.at[i] - T0) / 1000)] += 1;
    if (m.ms[i] > 1.5 * exp) late++;
  }
  const ms = performance.now() - t;
  if (late < 0) console.log(counts); // keep the loop's work observable
  return ms;
}

function documentFor(series) {
  const sessions = [];
  for (let d = 0; d * 86_400_000 < SPAN; d++) sessions.push({ label: `USA 14:30-21:00`, openedAt: T0 + d * 86_400_000 + 52_200_000, closedAt: Math.min(T0 + SPAN, T0 + d * 86_400_000 + 75_600_000), counted: true, note: null });
  return {
    schemaVersion: 1, kind: 'report', command: 'verify', title: `verify · ${FEATURES.map((f) => f.name).join(', ')} · 1 of 1 USA market sessions`,
    runId: 'bench0000000', actor: 'bench@local', toolVersion: 'bench', backend: { url: 'https://thor.internal', wsUrl: 'wss://thor.internal/ws/?token=***' },
    startedAt: new Date(T0).toISOString(), finishedAt: new Date(T0 + SPAN).toISOString(), durationMs: SPAN, speed: 1, stoppedBy: 'sessions',
    verdict: { status: 'fail', text: 'FAIL', exitCode: 1 },
    problems: ['positions values: 54 of 2,160 REST polls mismatched (2.5%) > 0.0% allowed'],
    connection: [['connects / reconnects', '25 / 24']],
    features: FEATURES.map((f) => ({
      name: f.name, cadence: 'periodic', status: f.name === 'positions' ? 'fail' : 'pass', verdictText: f.name === 'positions' ? 'FAIL' : 'PASS',
      items: ['interval', 'fields', 'values', 'errors', 'connection', 'scoping'].map((c, i) => ({ status: 'pass', mark: '[x]', text: `${'abcdef'[i]}) ${c}: within limits` })),
      expectedMs: f.expectedMs, limitMs: f.expectedMs * 1.5, numbers: [['WS messages', '…']], thresholds: [['expected interval', `${f.expectedMs} ms`]],
    })),
    sessions,
    series,
  };
}

async function drawTime(file, rounds) {
  const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!existsSync(chromiumPath)) return null;
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'bench-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath, headless: true, viewport: { width: 1280, height: 900 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  try {
    const times = {};
    for (const [name, path] of Object.entries(file)) {
      const runs = [];
      for (let r = 0; r < rounds; r++) {
        const page = await context.newPage();
        const t = performance.now();
        await page.goto(`file://${path}`);
        await page.waitForSelector('html[data-charts]');
        runs.push(performance.now() - t);
        await page.close();
      }
      runs.sort((a, b) => a - b);
      times[name] = runs[Math.floor(runs.length / 2)];
    }
    return times;
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

const mb = (n) => `${(n / 1024 / 1024).toFixed(2)} MB`;
const dir = mkdtempSync(join(tmpdir(), 'bench-report-'));
try {
  const m = messages();
  baselineFeed(m); feed(m); // warm both loops up
  const base = baselineFeed(m);
  const { s, feedMs } = feed(m);
  const snap = s.snapshot();
  const empty = new RunSeries(FEATURES, T0, 1_000).snapshot();
  renderReport(documentFor(empty)); // warm: assets read once
  let t = performance.now();
  const html = renderReport(documentFor(snap));
  const renderMs = performance.now() - t;
  t = performance.now();
  const emptyHtml = renderReport(documentFor(empty));
  const emptyRenderMs = performance.now() - t;
  const files = { full: join(dir, 'full.html'), empty: join(dir, 'empty.html') };
  writeFileSync(files.full, html);
  writeFileSync(files.empty, emptyHtml);
  const size = Buffer.byteLength(html);
  const emptySize = Buffer.byteLength(emptyHtml);
  console.log(`HTML report of ${MESSAGES.toLocaleString('en-US')} messages over ${HOURS} h: ${FEATURES.length} features, ${snap.buckets} buckets of ${snap.bucketMs / 1000} s each`);
  console.log(`  series:  ${(feedMs * 1e6 / MESSAGES).toFixed(0)} ns per message (a bare counting loop: ${(base * 1e6 / MESSAGES).toFixed(0)} ns, ratio ${(feedMs / base).toFixed(1)})`);
  console.log(`  file:    ${mb(size)} (gzip ${mb(gzipSync(html).length)}); an empty run's report ${mb(emptySize)}, ratio ${(size / emptySize).toFixed(1)}   (goal < 3 MB: ${size < 3 * 1024 * 1024 ? 'met' : 'NOT met'})`);
  console.log(`  render:  ${renderMs.toFixed(0)} ms to make the HTML (empty run: ${emptyRenderMs.toFixed(1)} ms)`);
  const drawn = await drawTime(files, 3);
  if (drawn) console.log(`  draw:    ${drawn.full.toFixed(0)} ms in headless Chromium until every chart is drawn (empty run: ${drawn.empty.toFixed(0)} ms, ratio ${(drawn.full / drawn.empty).toFixed(1)})`);
  else console.log('  draw:    not measured: no Chromium (apt-get install -y chromium, or set CHROMIUM_PATH)');
  if (process.argv.includes('--keep')) console.log(`  kept:    ${files.full}`);
} finally {
  if (!process.argv.includes('--keep')) rmSync(dir, { recursive: true, force: true });
}
