import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { formatDuration } from '../output/format.js';
import { packageRoot } from '../package.js';
import { redactUrl } from '../redact.js';
import type { ReportDocument, ReportFeature, ReportStatus } from './document.js';

/**
 * One self-contained HTML file: the text (header, verdict, checklists, tables) is plain
 * HTML, readable without scripts (an e-mail preview); the charts are drawn by uPlot from
 * the document inlined as JSON. Nothing is fetched at view time (the page's CSP forbids it).
 *
 * uPlot: MIT, 51 KB minified with no dependencies, draws to canvas and stays fast with
 * hundreds of thousands of points; a 2,048-bucket series per feature is far below that.
 * SVG libraries (Chart.js is canvas too, but 200 KB; D3 is a toolkit, not a chart) would
 * make the file heavier for nothing this report needs.
 */

const MARK_GLYPH: Record<ReportStatus, string> = { pass: '✔', fail: '✖', inconclusive: '?', skipped: '–', error: '✖' };

interface Assets { uplotJs: string; uplotCss: string; uplotLicense: string; css: string; js: string }
let assets: Assets | undefined;

function loadAssets(): Assets {
  if (assets) return assets;
  const require = createRequire(import.meta.url);
  const uplotDir = join(require.resolve('uplot/package.json'), '..');
  const own = join(packageRoot(), 'assets', 'report');
  assets = {
    uplotJs: readFileSync(join(uplotDir, 'dist', 'uPlot.iife.min.js'), 'utf8'),
    uplotCss: readFileSync(join(uplotDir, 'dist', 'uPlot.min.css'), 'utf8'),
    uplotLicense: readFileSync(join(uplotDir, 'LICENSE'), 'utf8'),
    css: readFileSync(join(own, 'report.css'), 'utf8'),
    js: readFileSync(join(own, 'report.js'), 'utf8'),
  };
  return assets;
}

export function esc(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** JSON inside a <script> element: nothing in it may close the element or start a comment. */
function scriptJson(v: unknown): string {
  return JSON.stringify(v).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** A script's text may not contain "</script" (uPlot's does not; this keeps it so). */
function scriptText(s: string): string {
  return s.replace(/<\/script/gi, '<\\/script');
}

const utc = (ms: number) => `${new Date(ms).toISOString().replace('T', ' ').slice(0, 23)} UTC`;
const time = (ms: number) => new Date(ms).toISOString().slice(11, 23);

function rows(pairs: [string, string][], caption: string): string {
  return `<div class="table-wrap"><table><caption class="muted">${esc(caption)}</caption><tbody>${pairs.map(([k, v]) => `<tr><th scope="row">${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</tbody></table></div>`;
}

function badge(status: ReportStatus, text: string): string {
  return `<span class="badge status-${status}">${MARK_GLYPH[status]} ${esc(text)}</span>`;
}

function featureSection(doc: ReportDocument, f: ReportFeature, i: number): string {
  const s = doc.series.features[i]!;
  const id = `f${i}`;
  const items = f.items.length
    ? `<ul class="checklist" aria-label="${esc(doc.command === 'verify' ? 'checklist' : 'problems')}">${f.items.map((it) => `<li class="status-${it.status}"><span class="mark" aria-hidden="true">${esc(it.mark)}</span><span class="sr-only">${esc(it.status)}: </span>${esc(it.text)}</li>`).join('')}</ul>`
    : `<p class="muted">${doc.command === 'parity' ? 'No problems.' : 'No checklist items.'}</p>`;
  const periodic = f.cadence === 'periodic';
  const timelineHint = periodic
    ? `median, min–max band per ${esc(formatDuration(doc.series.bucketMs))}; expected ${esc(ms(f.expectedMs))}${f.limitMs !== null ? `, p95 limit ${esc(ms(f.limitMs))}` : ''}; log scale`
    : `messages per ${esc(formatDuration(doc.series.bucketMs))} (${esc(f.cadence)} feature: no expected interval)`;
  const mismatchRows = s.mismatchDetails.map((m, j) => `<tr><td class="num">${esc(time(m.at))}</td><td class="mono">${esc(m.key)}</td><td class="mono">${esc(m.fields.map((x) => x.path).join(', '))}${m.fieldsTotal > m.fields.length ? ` (+${m.fieldsTotal - m.fields.length})` : ''}</td><td class="num">${esc(`${m.skewMs >= 0 ? '+' : ''}${m.skewMs} ms`)}</td><td><button type="button" class="diff-toggle" data-feature="${i}" data-index="${j}" aria-expanded="false" aria-controls="diff-${id}">diff</button></td></tr>`).join('');
  const mismatchCount = s.mismatches.reduce((a, b) => a + b, 0);
  const skippedCount = s.skipped.reduce((a, b) => a + b, 0);
  const skippedRows = s.skippedMarks.slice(0, 50).map((k) => `<tr><td class="num">${esc(time(k.at))}</td><td class="mono">${esc(k.key)}</td><td>${esc(k.reason)}</td></tr>`).join('');
  const restErrors = s.restErrorSamples.map((e) => `<tr><td class="num">${esc(time(e.at))}</td><td>${esc(e.kind)}</td><td>${esc(e.status ?? '-')}</td><td>${esc(e.message)}</td></tr>`).join('');
  return `
<section class="feature" id="feature-${esc(f.name)}" data-feature="${esc(f.name)}" aria-labelledby="h-${id}">
  <h2 id="h-${id}"><span>${esc(f.name)}</span> ${badge(f.status, f.verdictText)} <span class="muted" style="font-size:0.85rem;font-weight:normal">${esc(f.cadence)}, expected every ${esc(ms(f.expectedMs))}</span></h2>
  ${items}
  <div class="charts">
    <figure class="chart wide" aria-labelledby="cap-t-${id}">
      <figcaption id="cap-t-${id}">${periodic ? 'Inter-arrival time' : 'Messages'} over the run<span class="hint">${timelineHint}. Green bands: market sessions; red bands: connection gaps; ▼ mismatch (opens its diff); ◇ poll not compared; | socket closed.</span></figcaption>
      <p class="sr-only">${esc(timelineSummary(doc, i))}</p>
      <div class="plot" data-chart="timeline" data-feature="${i}"></div>
    </figure>
    <figure class="chart" aria-labelledby="cap-h-${id}">
      <figcaption id="cap-h-${id}">Interval histogram<span class="hint">inter-arrival times, log scale; expected and limit marked</span></figcaption>
      <div class="plot" data-chart="histogram" data-feature="${i}"></div>
    </figure>
    <figure class="chart" aria-labelledby="cap-r-${id}">
      <figcaption id="cap-r-${id}">REST latency and errors<span class="hint">mean and max per bucket; errors as bars (right axis)</span></figcaption>
      <div class="plot" data-chart="rest" data-feature="${i}"></div>
    </figure>
  </div>
  <h3 id="mm-${id}">Mismatches: ${mismatchCount}${s.mismatchDetails.length < mismatchCount ? ` (the first ${s.mismatchDetails.length} with their diff)` : ''}</h3>
  ${s.mismatchDetails.length ? `<div class="table-wrap"><table aria-labelledby="mm-${id}"><thead><tr><th scope="col">REST answer (UTC)</th><th scope="col">key</th><th scope="col">fields that differ</th><th scope="col">nearest WS</th><th scope="col"><span class="sr-only">diff</span></th></tr></thead><tbody>${mismatchRows}</tbody></table></div>` : '<p class="muted">None.</p>'}
  <div class="diff" id="diff-${id}" hidden tabindex="-1" aria-live="polite"></div>
  <h3 id="sk-${id}">REST polls not compared: ${skippedCount}</h3>
  ${skippedRows ? `<details><summary>Show ${Math.min(50, s.skippedMarks.length)}</summary><div class="table-wrap"><table aria-labelledby="sk-${id}"><thead><tr><th scope="col">at (UTC)</th><th scope="col">key</th><th scope="col">why</th></tr></thead><tbody>${skippedRows}</tbody></table></div></details>` : ''}
  ${restErrors ? `<h3 id="re-${id}">REST errors (first ${s.restErrorSamples.length})</h3><div class="table-wrap"><table aria-labelledby="re-${id}"><thead><tr><th scope="col">at (UTC)</th><th scope="col">outcome</th><th scope="col">status</th><th scope="col">message</th></tr></thead><tbody>${restErrors}</tbody></table></div>` : ''}
  <details><summary>Numbers and thresholds</summary>${rows(f.numbers, 'measured over the whole run')}${rows(f.thresholds, 'thresholds used')}</details>
</section>`;
}

/** What the timeline shows, in a sentence for a screen reader (the chart itself is a picture). */
function timelineSummary(doc: ReportDocument, i: number): string {
  const s = doc.series.features[i]!;
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  let worst = -1;
  s.maxMs.forEach((v, j) => { if (v !== null && (worst < 0 || v > s.maxMs[worst]!)) worst = j; });
  const parts = [`${sum(s.messages).toLocaleString('en-US')} messages`];
  if (worst >= 0) parts.push(`longest interval ${ms(s.maxMs[worst]!)} at ${time(doc.series.startAt + worst * doc.series.bucketMs)} UTC (expected ${ms(s.expectedMs)})`);
  parts.push(`${sum(s.late)} late and ${sum(s.missed)} missed intervals`, `${sum(s.mismatches)} mismatches`, `${sum(s.skipped)} polls not compared`, `${doc.series.gaps.length} reconnect gaps`);
  return `Chart summary: ${parts.join(', ')}.`;
}

/** Every feature's thresholds side by side: one row per threshold, one column per feature. */
function thresholdTable(doc: ReportDocument): string {
  const names = [...new Set(doc.features.flatMap((f) => f.thresholds.map(([k]) => k)))];
  if (names.length === 0) return 'the config\'s defaults';
  const head = doc.features.map((f) => `<th scope="col">${esc(f.name)}</th>`).join('');
  const body = names.map((n) => `<tr><th scope="row">${esc(n)}</th>${doc.features.map((f) => `<td>${esc(f.thresholds.find(([k]) => k === n)?.[1] ?? '-')}</td>`).join('')}</tr>`).join('');
  return `<details><summary>as configured, per feature</summary><div class="table-wrap"><table><thead><tr><th scope="col">threshold</th>${head}</tr></thead><tbody>${body}</tbody></table></div></details>`;
}

function ms(v: number): string {
  return v >= 1000 ? `${Math.round(v / 10) / 100} s` : `${Math.round(v * 10) / 10} ms`;
}

export function renderReport(input: ReportDocument): string {
  const a = loadAssets();
  // The front ends redact already; the page does again, the inlined JSON included.
  const doc: ReportDocument = { ...input, backend: { url: redactUrl(input.backend.url), wsUrl: redactUrl(input.backend.wsUrl) } };
  const v = doc.verdict;
  const sessions = doc.sessions.map((s) => `<tr><td>${esc(s.label)}</td><td class="num">${esc(utc(s.openedAt))}</td><td class="num">${s.closedAt === null ? 'open' : esc(utc(s.closedAt))}</td><td>${s.counted ? 'yes' : 'no'}${s.note ? ` (${esc(s.note)})` : ''}</td></tr>`).join('');
  const gaps = doc.series.gaps.map((g) => `<tr><td class="num">${esc(utc(g.from))}</td><td class="num">${esc(ms(g.to - g.from))}</td><td class="num">${g.missed}</td></tr>`).join('');
  const closes = doc.series.closes.map((c) => `<tr><td class="num">${esc(utc(c.at))}</td><td class="num">${c.code}</td><td>${esc(c.reason || '-')}</td></tr>`).join('');
  const title = `thor-cutover ${doc.title} · ${v.text}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<meta name="generator" content="thor-cutover ${esc(doc.toolVersion)}">
<title>${esc(title)}</title>
<style>${a.uplotCss}</style>
<style>${a.css}
.sr-only { position: absolute; left: 0; top: 0; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }</style>
</head>
<body>
<a class="skip-link" href="#verdict">Skip to the verdict</a>
<main>
<header>
  <h1>thor-cutover ${esc(doc.title)}</h1>
  <dl class="meta">
    <dt>backend</dt><dd class="mono" id="backend-url">${esc(doc.backend.url)}</dd>
    <dt>WebSocket</dt><dd class="mono">${esc(doc.backend.wsUrl)}</dd>
    <dt>run</dt><dd class="mono" id="run-id">${esc(doc.runId)}</dd>
    <dt>by</dt><dd>${esc(doc.actor)}</dd>
    <dt>tool</dt><dd>thor-cutover ${esc(doc.toolVersion)}</dd>
    <dt>thresholds</dt><dd>${thresholdTable(doc)}</dd>
    <dt>when</dt><dd>${esc(utc(Date.parse(doc.startedAt)))} to ${esc(utc(Date.parse(doc.finishedAt)))} (${esc(formatDuration(doc.durationMs))}, stopped by ${esc(doc.stoppedBy)}${doc.speed !== 1 ? `, rehearsal speed ${esc(doc.speed)}` : ''})</dd>
  </dl>
</header>
<section id="verdict" class="verdict status-${v.status}" data-verdict="${esc(v.status)}" aria-labelledby="verdict-h" tabindex="-1">
  <p id="verdict-h">${MARK_GLYPH[v.status]} verdict: <span id="verdict-text">${esc(v.text)}</span> <span class="muted">(exit ${v.exitCode})</span></p>
  ${doc.problems.length ? `<ul aria-label="problems">${doc.problems.map((p) => `<li>${esc(p)}</li>`).join('')}</ul>` : ''}
</section>
<nav class="features-nav" aria-label="features"><ul>${doc.features.map((f) => `<li><a href="#feature-${esc(f.name)}">${badge(f.status, `${f.name}: ${f.verdictText}`)}</a></li>`).join('')}</ul></nav>
${doc.features.map((f, i) => featureSection(doc, f, i)).join('\n')}
<section class="feature" id="connection" aria-labelledby="conn-h">
  <h2 id="conn-h">Connection and sessions</h2>
  ${rows(doc.connection, 'WebSocket connection')}
  <h3 id="sess-h">Market sessions: ${doc.sessions.length}</h3>
  ${sessions ? `<div class="table-wrap"><table aria-labelledby="sess-h"><thead><tr><th scope="col">session</th><th scope="col">opened</th><th scope="col">closed</th><th scope="col">counted</th></tr></thead><tbody>${sessions}</tbody></table></div>` : '<p class="muted">None seen.</p>'}
  <h3 id="gaps-h">Reconnect gaps: ${doc.series.gaps.length}${doc.series.dropped.gaps ? ` (+${doc.series.dropped.gaps} not listed)` : ''}</h3>
  ${gaps ? `<div class="table-wrap"><table aria-labelledby="gaps-h"><thead><tr><th scope="col">from</th><th scope="col">length</th><th scope="col">messages missed (estimate)</th></tr></thead><tbody>${gaps}</tbody></table></div>` : ''}
  <h3 id="closes-h">Socket closes: ${doc.series.closes.length}${doc.series.dropped.closes ? ` (+${doc.series.dropped.closes} not listed)` : ''}</h3>
  ${closes ? `<div class="table-wrap"><table aria-labelledby="closes-h"><thead><tr><th scope="col">at</th><th scope="col">code</th><th scope="col">reason</th></tr></thead><tbody>${closes}</tbody></table></div>` : ''}
</section>
<footer>Made by thor-cutover ${esc(doc.toolVersion)} (${esc(doc.command)}). Times in UTC. Charts: uPlot (MIT). The data behind this page is inlined below as JSON (<code>#report-data</code>).</footer>
</main>
<script type="application/json" id="report-data">${scriptJson(doc)}</script>
<!-- uPlot ${esc(a.uplotLicense.split('\n').slice(0, 3).join(' ').trim())}; the full MIT licence text:
${a.uplotLicense.replace(/--/g, '- -')}
-->
<script>${scriptText(a.uplotJs)}</script>
<script>${scriptText(a.js)}</script>
</body>
</html>
`;
}
