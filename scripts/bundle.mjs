// Bundles the tsc output (dist/) into dist/bundle/, which the bin runs. One file per lazily
// loaded command chunk instead of ~150 modules from node_modules: `status` starts in about
// two thirds of the time (bench/status-startup.mjs). tsc stays the type checker.
import { build } from 'esbuild';
import { readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';

// ioredis adds ~1,200 command methods to Commander.prototype one by one at load time. While
// the prototype is a "fast" object, every addition copies its growing property map: 20 ms
// of the loop and ~40 ms of garbage collection, a third of `status` (node --cpu-prof).
// Turning the prototype into a dictionary first (add two properties and delete the older: what
// V8 does with any object a property other than the newest is deleted from) makes each addition constant time; V8 turns
// it back into a fast prototype on first use. Nothing else changes: the same methods, in
// the same order. If ioredis rewrites the loop, the build fails here rather than silently
// losing the gain (bench/status-startup.mjs would show it too).
const IOREDIS_COMMANDER = /node_modules\/ioredis\/built\/utils\/Commander\.js$/;
const IOREDIS_LOOP = 'commands.forEach(function (commandName) {';
const dictionaryPrototype = {
  name: 'ioredis-dictionary-prototype',
  setup(b) {
    b.onLoad({ filter: IOREDIS_COMMANDER }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      if (source.split(IOREDIS_LOOP).length !== 2) {
        throw new Error(`scripts/bundle.mjs: ${args.path} no longer has "${IOREDIS_LOOP}" once; review the start-up patch`);
      }
      // Deleting the newest property only rolls its transition back: delete an older one.
      const slow = 'Commander.prototype.__thorA = 0; Commander.prototype.__thorB = 0; '
        + 'delete Commander.prototype.__thorA; delete Commander.prototype.__thorB;\n';
      return { contents: source.replace(IOREDIS_LOOP, slow + IOREDIS_LOOP), loader: 'js' };
    });
  },
};

rmSync('dist/bundle', { recursive: true, force: true });
// CommonJS dependencies that every start of a command that uses them parses: one file each
// in dist/bundle/vendor/, loaded through src/code-cache.ts (a V8 code cache beside each).
// The ESM chunks import a stub in their place that re-exports the same names.
const VENDOR = ['ioredis', 'commander'];
const requireHere = createRequire(import.meta.url);
const codeCache = resolve('dist/code-cache.js');

for (const name of VENDOR) {
  await build({
    stdin: { contents: `module.exports = require(${JSON.stringify(name)});`, resolveDir: '.', loader: 'js' },
    outfile: `dist/bundle/vendor/${name}.cjs`,
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    minifyWhitespace: true,
    minifySyntax: true,
    logLevel: 'warning',
    plugins: [dictionaryPrototype],
  });
}

const vendorStubs = {
  name: 'vendor-stubs',
  setup(b) {
    const filter = new RegExp(`^(${VENDOR.join('|')})$`);
    b.onResolve({ filter }, (args) => ({ path: args.path, namespace: 'thor-vendor' }));
    b.onLoad({ filter: /.*/, namespace: 'thor-vendor' }, (args) => {
      const names = Object.keys(requireHere(args.path)).filter((k) => /^[A-Za-z_$][\w$]*$/.test(k) && k !== 'default');
      return {
        resolveDir: '.',
        loader: 'js',
        contents: [
          `import { requireWithCodeCache } from ${JSON.stringify(codeCache)};`,
          `import { fileURLToPath } from 'node:url';`,
          `const m = requireWithCodeCache(fileURLToPath(new URL('./vendor/${args.path}.cjs', import.meta.url)));`,
          ...names.map((n) => `export const ${n} = m.${n};`),
          'export default m.default ?? m;',
        ].join('\n'),
      };
    });
  },
};

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
  // CommonJS dependencies (ws, undici's helpers) call require(): give the ESM bundle one.
  banner: { js: "import { createRequire as __thorCreateRequire } from 'node:module'; const require = __thorCreateRequire(import.meta.url);" },
  sourcemap: true,
  logLevel: 'warning',
  plugins: [vendorStubs],
  // Less to scan on every start; names are kept, so a stack trace still reads.
  minifyWhitespace: true,
  minifySyntax: true,
});
