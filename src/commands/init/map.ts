import type { FeatureConfig } from '../../config/types.js';
import { viewResponseFields, type ChannelsMap } from '../../django/channels.js';
import { pathSegments, samePath, type DjangoProject, type UrlRoute } from '../../django/urls.js';
import type { FeatureFinding, Question } from './types.js';

/** Each configured feature mapped onto what the code has: its route, WS types, REST timer and payload fields. */

/** The words of a name: `AccountBalanceJob` and `account_balance` -> account, balance. */
export function words(name: string): string[] {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase().split(/[^a-z0-9]+/)
    .filter((w) => w && !['job', 'view', 'api', 'message', 'msg', 'build', 'get', 'list', 'task', 'poller', 'update', 'send'].includes(w))
    // balances ~ balance, positions ~ position: a plural is the same word.
    .map((w) => (w.length > 3 && w.endsWith('s') && !w.endsWith('ss') ? w.slice(0, -1) : w));
}

function covers(have: string[], want: string[]): boolean {
  return want.length > 0 && want.every((w) => have.includes(w));
}

export const at = (x: { file: string; line: number }) => `${x.file}:${x.line}`;

export function mapFeature(f: FeatureConfig, routes: UrlRoute[], ch: ChannelsMap, questions: Question[]): FeatureFinding {
  const out: FeatureFinding = { name: f.name, restPath: null, views: null, wsTypes: null, jobs: null, intervalMs: null, restFields: null, wsFields: null, fieldMap: null, requiredFields: null };
  const fw = words(f.name);

  // REST path: the configured one if a route resolves to it; else the one route that ends like
  // it or names a view with the feature's words.
  const exact = routes.filter((r) => samePath(r.path!, f.restPath));
  let route: UrlRoute | null = exact[0] ?? null;
  let how = 'confirmed: a route resolves to it';
  if (!route) {
    const last = pathSegments(f.restPath).slice(-1)[0];
    const cands = routes.filter((r) => {
      const segs = pathSegments(r.path!);
      return (last !== undefined && segs[segs.length - 1] === last) || (r.view !== null && covers(words(r.view.name), fw));
    });
    if (cands.length === 1) { route = cands[0]!; how = `found: the one route ending in "${last}" or naming a ${f.name} view (the config says ${f.restPath})`; }
    else {
      questions.push({
        feature: f.name,
        question: cands.length
          ? `which route serves ${f.name}? no route resolves to ${f.restPath}, and ${cands.length} could`
          : `where is ${f.name}'s REST route? no route resolves to ${f.restPath}, and none ends in "${last}" or names a view with "${fw.join('_')}"`,
        candidates: cands.map((r) => `${r.path} (${r.view?.name ?? '?'}) at ${r.file}:${r.line}`),
      });
    }
  }
  if (route) {
    const from = `${route.file}:${route.line}`;
    out.restPath = { value: route.path!, from, how };
    if (route.view) out.views = { value: [route.view.name], from: route.view.file ? `${route.view.file}:${route.view.line}` : from, how: `the view ${route.path} names` };
  }

  // WS types: the configured one if the code sends it; else the one message type named like the feature.
  const types = [...new Set(ch.messages.map((m) => m.type))];
  const configured = f.wsTypes.filter((t) => types.includes(t));
  if (configured.length) {
    const m = ch.messages.find((x) => x.type === configured[0]);
    out.wsTypes = { value: configured, from: m ? at(m) : '', how: 'confirmed: the code sends it' };
  } else {
    const cands = types.filter((t) => covers(words(t), fw) || covers(fw, words(t)) || ch.messages.some((m) => m.type === t && m.builder !== null && covers(words(m.builder), fw)));
    if (cands.length === 1) {
      const m = ch.messages.find((x) => x.type === cands[0])!;
      out.wsTypes = { value: [cands[0]!], from: at(m), how: `found: the one message type named like ${f.name}${m.builder ? ` (built by ${m.builder})` : ''}; the config says ${f.wsTypes.join(', ')}` };
    } else {
      questions.push({
        feature: f.name,
        question: `which WS message type carries ${f.name}? the code never sends ${f.wsTypes.join(' or ')}${cands.length ? `, and ${cands.length} types could` : ''}`,
        candidates: cands.map((t) => `${t} at ${at(ch.messages.find((m) => m.type === t)!)}`),
      });
    }
  }

  // Legacy REST timer: the registered job whose `name` is the feature, else named like it.
  let jobs = ch.jobs.filter((j) => j.name === f.name);
  let jobHow = `its name attribute is "${f.name}"`;
  if (!jobs.length) { jobs = ch.jobs.filter((j) => f.legacy.jobs.includes(j.job)); jobHow = 'confirmed: the config names it'; }
  if (!jobs.length) { jobs = ch.jobs.filter((j) => covers(words(j.job), fw)); jobHow = `named like ${f.name}`; }
  if (jobs.length) {
    const j = jobs[0]!;
    out.jobs = { value: [...new Set(jobs.map((x) => x.job))], from: at(j), how: `registered here; ${jobHow}` };
    if (j.intervalSeconds !== null && f.cadence === 'periodic') {
      out.intervalMs = { value: Math.round(j.intervalSeconds * 1000), from: at(j), how: `registry.register(..., interval=${j.intervalSeconds})` };
    }
  }
  return out;
}

/** One field spelled two ways: every word of one starts the same word of the other (`net_liq`, `net_liquidation`). */
function sameField(a: string, b: string): boolean {
  const x = a.toLowerCase().split(/[_\W]+/).filter(Boolean);
  const y = b.toLowerCase().split(/[_\W]+/).filter(Boolean);
  if (a === b || x.length !== y.length || x.length === 0) return false;
  return x.every((w, i) => w.startsWith(y[i]!) || y[i]!.startsWith(w));
}

/** REST and WS payload fields, where both are dict literals, and the renames between them. */
export async function readFields(project: DjangoProject, fe: FeatureFinding, routes: UrlRoute[], ch: ChannelsMap): Promise<void> {
  const route = fe.restPath ? routes.find((r) => r.path === fe.restPath!.value) : undefined;
  if (route?.view?.file && route.view.line) {
    const rest = await viewResponseFields(project, route.view.file, route.view.line);
    if (rest) fe.restFields = { value: rest.fields, from: `${rest.file}:${rest.line}`, how: `${rest.via} ${route.view.name}() returns` };
  }
  const msg = fe.wsTypes ? ch.messages.find((m) => fe.wsTypes!.value.includes(m.type) && m.payloadFields !== null) : undefined;
  if (msg) fe.wsFields = { value: msg.payloadFields!, from: msg.payloadFrom?.split(' ')[0] ?? at(msg), how: `the payload of the ${msg.type} message${msg.builder ? ` ${msg.builder}() builds` : ''}${msg.payloadFrom ? `, read from ${msg.payloadFrom.slice(msg.payloadFrom.indexOf(' ') + 2, -1)}` : ''}` };
  if (fe.restFields && fe.wsFields) {
    const map: Record<string, string> = {};
    for (const w of fe.wsFields.value) {
      if (fe.restFields.value.includes(w)) continue;
      const r = fe.restFields.value.filter((x) => !fe.wsFields!.value.includes(x) && sameField(w, x));
      if (r.length === 1) map[w] = r[0]!;
    }
    if (Object.keys(map).length) fe.fieldMap = { value: map, from: fe.wsFields.from, how: `the WS payload (${fe.wsFields.from}) and the REST body (${fe.restFields.from}) spell ${Object.entries(map).map(([w, r]) => `${r} as ${w}`).join(', ')}` };
  }
  // What a client reads today is the REST body: every WS message must carry those fields (in REST names).
  if (fe.restFields) fe.requiredFields = { value: fe.restFields.value, from: fe.restFields.from, how: `the fields of ${fe.restFields.how}` };
  else if (fe.wsFields) {
    const back = fe.fieldMap?.value ?? {};
    fe.requiredFields = { value: fe.wsFields.value.map((w) => back[w] ?? w), from: fe.wsFields.from, how: `the fields of ${fe.wsFields.how} (no REST body the code shows)` };
  }
}

/** REST fields the WS payload never carries (under its own name or a renamed one): a client switched to WS loses them. */
export function lostFields(fe: FeatureFinding): string[] {
  if (!fe.restFields || !fe.wsFields) return [];
  const carried = new Set(fe.wsFields.value.map((w) => fe.fieldMap?.value[w] ?? w));
  return fe.restFields.value.filter((r) => !carried.has(r));
}
