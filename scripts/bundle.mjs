// Bundles the tsc output (dist/) into dist/bundle/, which the bin runs. One file per lazily
// loaded command chunk instead of ~150 modules from node_modules: `status` starts in about
// two thirds of the time (bench/status-startup.mjs). tsc stays the type checker.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';

rmSync('dist/bundle', { recursive: true, force: true });
await build({
  entryPoints: ['dist/cli.js'],
  outdir: 'dist/bundle',
  bundle: true,
  splitting: true, // keeps `await import()` of each command lazy
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // ws loads these native add-ons only if installed; they are optional.
  external: ['bufferutil', 'utf-8-validate'],
  // CommonJS dependencies (ioredis, commander) call require(): give the ESM bundle one.
  banner: { js: "import { createRequire as __thorCreateRequire } from 'node:module'; const require = __thorCreateRequire(import.meta.url);" },
  sourcemap: true,
  logLevel: 'warning',
});
