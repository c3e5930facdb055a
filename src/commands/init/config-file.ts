import { existsSync } from 'node:fs';
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { loadConfig } from '../../config/load.js';
import type { Config } from '../../config/types.js';
import { CutoverError, ExitCode } from '../../errors.js';
import type { IO } from '../../io.js';
import { samePath } from '../../django/urls.js';
import type { Change, FeatureFinding, Sourced } from './types.js';

/** The config file init merges into: read (a JSON object or nothing), merged, written atomically. */

export async function readRawConfig(file: string): Promise<Record<string, unknown>> {
  if (!existsSync(file)) return {};
  try {
    const doc = JSON.parse(await readFile(file, 'utf8')) as unknown;
    if (doc && typeof doc === 'object' && !Array.isArray(doc)) return doc as Record<string, unknown>;
  } catch { /* reported below */ }
  throw new CutoverError('E_CONFIG', `${file} is not a JSON object: init merges into it and will not overwrite it`, { hint: 'fix or move it, or give another file with --out', exitCode: ExitCode.ERROR });
}

/** Sets each found value in the config document; a value the file already sets is kept unless --force. */
export function merge(raw: Record<string, unknown>, config: Config, found: FeatureFinding[], force: boolean): { changes: Change[]; doc: Record<string, unknown> } {
  const doc = structuredClone(raw);
  const changes: Change[] = [];
  const obj = (parent: Record<string, unknown>, key: string): Record<string, unknown> => {
    const v = parent[key];
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
    const o: Record<string, unknown> = {};
    parent[key] = o;
    return o;
  };
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  for (const f of found) {
    const fc = config.features.find((x) => x.name === f.name)!;
    const set = (path: string[], current: unknown, s: Sourced<unknown> | null, value: unknown = s?.value) => {
      if (!s || same(current, value)) return;
      const name = ['features', f.name, ...path].join('.');
      const rawFeatures = raw.features as Record<string, Record<string, unknown>> | undefined;
      let inFile: unknown = rawFeatures?.[f.name];
      for (const k of path) inFile = inFile && typeof inFile === 'object' ? (inFile as Record<string, unknown>)[k] : undefined;
      const kept = inFile !== undefined && !force;
      changes.push({ path: name, from: current, to: value, source: `${s.from} (${s.how})`, kept });
      if (kept) return;
      let o = obj(obj(doc, 'features'), f.name);
      for (const k of path.slice(0, -1)) o = obj(o, k);
      o[path[path.length - 1]!] = value;
    };
    set(['restPath'], fc.restPath, f.restPath);
    if (f.restPath && !samePath(f.restPath.value, fc.restPath)) set(['legacy', 'routes'], fc.legacy.routes, f.restPath, [f.restPath.value.replace(/^\//, '')]);
    if (f.views && !fc.legacy.views.includes(f.views.value[0]!)) set(['legacy', 'views'], fc.legacy.views, f.views);
    set(['wsTypes'], fc.wsTypes, f.wsTypes);
    if (f.jobs && !f.jobs.value.every((j) => fc.legacy.jobs.includes(j))) set(['legacy', 'jobs'], fc.legacy.jobs, f.jobs);
    // The file spells it as a duration (`interval: "5s"`).
    if (f.fieldMap) set(['fieldMap'], fc.fieldMap, f.fieldMap, { ...fc.fieldMap, ...f.fieldMap.value });
    if (f.requiredFields && !sameSet(f.requiredFields.value, fc.requiredFields)) set(['requiredFields'], fc.requiredFields, f.requiredFields);
    if (f.intervalMs) set(['interval'], formatDuration(fc.intervalMs), f.intervalMs, formatDuration(f.intervalMs.value));
  }
  return { changes, doc };
}

function sameSet(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

function formatDuration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** Written to a temporary file, loaded back as a config (never a file the tool itself refuses), then renamed. */
export async function writeConfig(file: string, doc: Record<string, unknown>, io: IO): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, JSON.stringify(doc, null, 2) + '\n');
  } catch (err) {
    throw new CutoverError('E_CONFIG_WRITE', `cannot write ${file}: ${(err as Error).message}`, { hint: `check that ${basename(file)}'s directory exists and is writable`, exitCode: ExitCode.ERROR });
  }
  try {
    loadConfig({ cwd: io.cwd, env: {}, configPath: tmp });
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await rename(tmp, file);
}
