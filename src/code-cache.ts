import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { dirname } from 'node:path';
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
 * together never read half a file; where the folder is read-only, nothing is written.
 */
export function requireWithCodeCache(file: string): unknown {
  const cacheFile = `${file}.v8cache`;
  const source = readFileSync(file, 'utf8');
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    // no cache yet: compiled from source, and one is written at exit
  }
  const script = new Script(Module.wrap(source), { filename: file, cachedData });
  if (!cachedData || script.cachedDataRejected) process.once('exit', () => writeCache(script, cacheFile));
  const mod = { exports: {} as unknown };
  const wrapper = script.runInThisContext() as (...args: unknown[]) => void;
  wrapper.call(mod.exports, mod.exports, createRequire(file), mod, file, dirname(file));
  return mod.exports;
}

function writeCache(script: Script, cacheFile: string): void {
  const tmp = `${cacheFile}.${process.pid}`;
  try {
    writeFileSync(tmp, script.createCachedData());
    renameSync(tmp, cacheFile);
  } catch {
    // a read-only install: the next start compiles from source, as it would without a cache
    rmSync(tmp, { force: true });
  }
}
