import { relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { IO } from '../../io.js';
import { printJson, type Output } from '../../output/format.js';
import { packageVersion } from '../../package.js';
import { SARIF_SCHEMA, sarifUri, writeSarifFile } from '../../output/sarif.js';
import type { InitReport, ProblemRule } from './run.js';

const show = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

export function printInit(out: Output, r: InitReport, opts: { explain: boolean }): void {
  if (out.format === 'json') { printJson(out, 'init', r); return; }
  const s = out.style;
  const w = (line = '') => out.io.stdout.write(line + '\n');
  const f = r.found;
  w(`${s.bold(`thor-cutover init${r.mode === 'check' ? ' --check' : ''}`)} ${s.dim(`· ${r.root} · ${r.durationMs}ms`)}`);
  w(s.dim(`read: ${f.routes} route${f.routes === 1 ? '' : 's'} in ${f.urlconfs} urlconf${f.urlconfs === 1 ? '' : 's'}${f.root ? ` (root ${f.root}, ${f.rootFrom})` : ''}, ${f.broadcasts} channel-layer send${f.broadcasts === 1 ? '' : 's'}, ${f.handlers} consumer handler${f.handlers === 1 ? '' : 's'}, ${f.messages} WS message shape${f.messages === 1 ? '' : 's'}, ${f.jobs} REST timer${f.jobs === 1 ? '' : 's'}`));
  const nothing = f.routes === 0 && f.broadcasts === 0 && f.messages === 0 && f.jobs === 0;

  if (opts.explain || r.mode !== 'check') {
    for (const fe of r.features) {
      const rows: [string, { value: unknown; from: string; how: string } | null][] = [
        ['restPath', fe.restPath], ['legacy.views', fe.views], ['wsTypes', fe.wsTypes], ['legacy.jobs', fe.jobs], ['interval', fe.intervalMs], ['fieldMap', fe.fieldMap], ['requiredFields', fe.requiredFields], ['REST fields', fe.restFields], ['WS fields', fe.wsFields],
      ];
      const found = rows.filter(([, v]) => v !== null);
      if (!opts.explain && !r.changes.some((c) => c.path.startsWith(`features.${fe.name}.`))) continue;
      w();
      w(s.bold(fe.name));
      for (const [k, v] of found) {
        const change = r.changes.find((c) => c.path === `features.${fe.name}.${k}`);
        if (!opts.explain && !change) continue;
        const mark = k.endsWith('fields') ? s.dim('read') : change ? (change.kept ? s.warn('kept') : s.ok(r.mode === 'write' ? 'set' : 'would set')) : s.dim('same');
        const value = k === 'interval' ? `${v!.value} ms` : show(v!.value);
        w(`  ${k.padEnd(13)} ${value}  ${mark}${change?.kept ? s.dim(` (the file says ${show(change.from)}; --force takes the code's)`) : ''}`);
        if (opts.explain) w(s.dim(`                ${v!.from}: ${v!.how}`));
      }
    }
  }

  if (r.mode === 'check') {
    w();
    for (const p of r.problems) w(`${s.bad(s.glyph.fail)} ${p.file ? s.bold(`${p.file}:${p.line}`) + ': ' : ''}${p.message}`);
  }
  if (r.questions.length) {
    w();
    w(s.bold('questions') + s.dim(' (not guessed: answer them in the config)'));
    for (const q of r.questions) {
      w(`  ? ${q.question}`);
      for (const c of q.candidates) w(s.dim(`      ${c}`));
    }
  }
  if (r.unknowns.length) {
    w();
    w(s.bold('not determined') + s.dim(' (read, but not statically known)'));
    for (const u of r.unknowns) w(s.dim(`  ${u.file}:${u.line}: ${u.what}`));
  }
  w();
  if (r.mode === 'check') {
    if (r.problems.length) w(s.bad(`${s.glyph.fail} ${r.problems.length} problem${r.problems.length === 1 ? '' : 's'}: the config or the code needs fixing`));
    else w(s.ok(`${s.glyph.pass} the config matches the code, and every broadcast type has a handler`));
  } else if (nothing) {
    w(`${s.glyph.info} nothing to find: no routes, WS messages or REST timers in this project; no config written`);
  } else if (!r.changes.length) {
    w(s.ok(`${s.glyph.pass} the config already matches the code; nothing to write`));
  } else if (r.mode === 'dry-run') {
    w(`${s.glyph.info} dry run: ${r.out} would be:`);
    w(JSON.stringify(r.config, null, 2));
  } else if (r.written) {
    const set = r.changes.filter((c) => !c.kept).length;
    w(s.ok(`${s.glyph.pass} wrote ${r.out}: ${set} value${set === 1 ? '' : 's'} from the code${r.changes.some((c) => c.kept) ? `, ${r.changes.filter((c) => c.kept).length} kept from the file` : ''}`));
  } else {
    w(`${s.glyph.info} every value the code gives is already set otherwise in ${r.out}: kept (--force to take the code's)`);
  }
}

const RULES: Record<ProblemRule, string> = {
  'missing-handler': 'A channel-layer event type is sent but no consumer handles it (Channels closes the socket with 1011)',
  'unused-handler': 'A consumer handler method handles an event type nothing sends',
  'no-consumer': 'Channel-layer events are sent but no consumer class exists',
  'unrouted-feature': 'No URL route resolves to the feature\'s REST path',
  'missing-ws-type': 'The code never sends the feature\'s WS message type',
  'interval-mismatch': 'The REST timer\'s interval differs from the config\'s',
  'renamed-field': 'The WS payload and the REST body spell a field differently and the config\'s fieldMap does not map it',
  'missing-field': 'The REST body has a field the WS payload never carries (a client switched to WS loses it)',
};

export async function writeInitSarif(io: IO, file: string, r: InitReport): Promise<void> {
  const base = io.env.GITHUB_WORKSPACE || io.cwd;
  const useBase = !relative(base, r.root).startsWith('..');
  const srcRoot = useBase ? base : r.root;
  const ids = Object.keys(RULES) as ProblemRule[];
  const doc = {
    $schema: SARIF_SCHEMA,
    version: '2.1.0',
    runs: [{
      tool: { driver: { name: 'thor-cutover', semanticVersion: packageVersion(), version: packageVersion(), rules: ids.map((id) => ({ id: `thor-cutover/init/${id}`, shortDescription: { text: RULES[id] }, defaultConfiguration: { level: 'error' } })) } },
      originalUriBaseIds: { '%SRCROOT%': { uri: pathToFileURL(srcRoot + sep).href } },
      invocations: [{ executionSuccessful: true, exitCode: r.exitCode }],
      results: r.problems.map((p) => ({
        ruleId: `thor-cutover/init/${p.rule}`,
        ruleIndex: ids.indexOf(p.rule),
        level: 'error',
        message: { text: p.message },
        ...(p.file ? { locations: [{ physicalLocation: { artifactLocation: { uri: sarifUri(relative(srcRoot, `${r.root}${sep}${p.file}`)), uriBaseId: '%SRCROOT%' }, region: { startLine: p.line ?? 1 } } }] } : {}),
        properties: { feature: p.feature },
      })),
    }],
  };
  await writeSarifFile(io, file, doc);
}
