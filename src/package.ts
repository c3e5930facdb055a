import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The installed package's root folder. Found by walking up from this module, because the
 * module may sit in dist/ (tsc output), dist/bundle/ (the shipped bundle) or src/ (tests).
 */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'thor-cutover') return dir;
    } catch {
      // no package.json here (or not ours): keep walking up
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('thor-cutover: cannot find the package root (package.json)');
    dir = up;
  }
}

let version: string | undefined;
export function packageVersion(): string {
  version ??= (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  return version;
}
