import type { Config } from '../../config/types.js';
import type { ChannelsMap } from '../../django/channels.js';
import { samePath, type UrlRoute } from '../../django/urls.js';
import { at, lostFields } from './map.js';
import type { FeatureFinding, Problem } from './types.js';

/** `init --check`: the config against the code, and the code against itself; each problem with file:line. */

export function check(config: Config, features: FeatureFinding[], routes: UrlRoute[], ch: ChannelsMap, clientDriven: string[]): Problem[] {
  const problems: Problem[] = [];
  const handlerOf = (type: string) => type.replace(/\./g, '_');
  const handlers = new Set(ch.handlers.map((h) => h.method));
  if (ch.broadcasts.length && !ch.consumers.length) {
    problems.push({ rule: 'no-consumer', feature: null, message: `the code sends ${ch.broadcasts.length} channel-layer event(s) but no consumer class was found to handle them`, file: ch.broadcasts[0]!.file, line: ch.broadcasts[0]!.line });
  } else {
    for (const b of ch.broadcasts) {
      if (handlers.has(handlerOf(b.type))) continue;
      const consumers = ch.consumers.map((c) => `${c.name} (${at(c)})`).join(', ');
      problems.push({
        rule: 'missing-handler', feature: null, file: b.file, line: b.line,
        message: `the event type "${b.type}" is sent (${b.via}) but no consumer has a ${handlerOf(b.type)}(self, event) method: Channels closes every socket that receives it with 1011. Add it to ${consumers}`,
      });
    }
  }
  const sent = new Set(ch.broadcasts.map((b) => handlerOf(b.type)));
  const client = new Set(clientDriven.map(handlerOf));
  for (const h of ch.handlers) {
    if (sent.has(h.method) || client.has(h.method)) continue;
    problems.push({ rule: 'unused-handler', feature: null, file: h.file, line: h.line, message: `${h.consumer}.${h.method}() handles an event type nothing sends; if the client drives it, list it in the config's backend.clientDriven (or --client-driven ${h.method})` });
  }
  for (const f of config.features) {
    const found = features.find((x) => x.name === f.name)!;
    if (!routes.some((r) => samePath(r.path!, f.restPath))) {
      problems.push({
        rule: 'unrouted-feature', feature: f.name, file: found.restPath ? found.restPath.from.split(':')[0]! : null, line: found.restPath ? Number(found.restPath.from.split(':').pop()) : null,
        message: `${f.name}: no route resolves to ${f.restPath}${found.restPath ? `; the code serves it at ${found.restPath.value} (thor-cutover init updates the config)` : ''}`,
      });
    }
    const types = new Set(ch.messages.map((m) => m.type));
    if (!f.wsTypes.some((t) => types.has(t))) {
      problems.push({
        rule: 'missing-ws-type', feature: f.name, file: found.wsTypes ? found.wsTypes.from.split(':')[0]! : null, line: found.wsTypes ? Number(found.wsTypes.from.split(':').pop()) : null,
        message: `${f.name}: the code never sends the WS type ${f.wsTypes.join(' or ')}${found.wsTypes ? `; it sends ${found.wsTypes.value.join(', ')} (thor-cutover init updates the config)` : ''}`,
      });
    }
    const lost = lostFields(found);
    if (lost.length) {
      const [file, line] = found.wsFields!.from.split(':');
      problems.push({ rule: 'missing-field', feature: f.name, file: file ?? null, line: line ? Number(line) : null, message: `${f.name}: the REST body (${found.restFields!.from}) has ${lost.map((x) => `"${x}"`).join(', ')}, which the WS payload (${found.wsFields!.how}) never carries: a client switched to WS loses ${lost.length === 1 ? 'it' : 'them'}` });
    }
    for (const [ws, rest] of Object.entries(found.fieldMap?.value ?? {})) {
      if (f.fieldMap[ws] === rest) continue;
      const [file, line] = found.fieldMap!.from.split(':');
      problems.push({ rule: 'renamed-field', feature: f.name, file: file ?? null, line: line ? Number(line) : null, message: `${f.name}: the WS payload calls "${ws}" what the REST body calls "${rest}" (${found.fieldMap!.how}); the config's fieldMap does not map it, so parity compares them as different fields` });
    }
    if (found.intervalMs && f.cadence === 'periodic' && found.intervalMs.value !== f.intervalMs) {
      const [file, line] = found.intervalMs.from.split(':');
      problems.push({ rule: 'interval-mismatch', feature: f.name, file: file ?? null, line: line ? Number(line) : null, message: `${f.name}: the config expects a message every ${f.intervalMs} ms, the REST timer runs every ${found.intervalMs.value} ms (${found.intervalMs.how})` });
    }
  }
  return problems;
}
