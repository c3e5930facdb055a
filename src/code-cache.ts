import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { Script } from 'node:vm';

/**
 * Start-up (issue 18): the shipped bundle keeps its CommonJS dependencies (ioredis,
 * commander) in one file each, dist/bundle/vendor/NAME.cjs, which it loads through this. V8 compiles
 * that file from a code cache kept beside it (.v8cache) instead of parsing 300 KB
 * of JavaScript on every start. Node 20 has no compile cache of its own
 * (module.enableCompileCache is Node 22), so this is the few lines it would be.
 *
 * The cache is only ever a speed-up: V8 checks it against the source and its own version and
 * flags, and rejects what does not fit; then the file is compiled as usual and a fresh cache
 * written when the process exits (after the command ran, so the functions it used are in
 * it). The write goes to a temporary name and is renamed into place, so processes starting
 * together never read half a file. Where the install folder is read-only, the cache goes to
 * the user's cache folder; where neither is writable, nothing is written.
 */
export function requireWithCodeCache(file: string): unknown {
  const places = cachePlaces(file);
  const source = readFileSync(file, 'utf8');
  let cachedData: Buffer | undefined;
  for (const place of places) {
    try {
      cachedData = readFileSync(place);
      break;
    } catch {
      // not here: the next place, else compiled from source and a cache written at exit
    }
  }
  const script = new Script(Module.wrap(source), { filename: file, cachedData });
  if (!cachedData || script.cachedDataRejected) process.once('exit', () => writeCache(script, places));
  const mod = { exports: {} as unknown };
  const wrapper = script.runInThisContext() as (...args: unknown[]) => void;
  wrapper.call(mod.exports, mod.exports, createRequire(file), mod, file, dirname(file));
  return mod.exports;
}

/**
 * Where the cache may be: beside the file (an install the user owns, the usual case), else
 * in the user's cache folder ($XDG_CACHE_HOME or ~/.cache, thor-cutover/), named after the
 * file's whole path so two installs never share one.
 */
function cachePlaces(file: string): string[] {
  const home = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return [`${file}.v8cache`, join(home, 'thor-cutover', `${encodeURIComponent(file)}.v8cache`)];
}

function writeCache(script: Script, places: string[]): void {
  const data = script.createCachedData();
  for (const place of places) {
    const tmp = `${place}.${process.pid}`;
    try {
      mkdirSync(dirname(place), { recursive: true });
      writeFileSync(tmp, data);
      renameSync(tmp, place);
      return;
    } catch {
      // read-only here (a global install run by another user): try the next place
      rmSync(tmp, { force: true });
    }
  }
  // nowhere writable: the next start compiles from source, as it would without a cache
}
