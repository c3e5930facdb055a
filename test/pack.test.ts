import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './support/cli.js';

describe('npm pack', () => {
  it('produces a package that installs without dev dependencies and runs', () => {
    const dir = mkdtempSync(join(tmpdir(), 'thor-pack-'));
    try {
      // npm test has just built dist/: pack it as it is (the prepare step would rebuild it).
      const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
      const files: string[] = packed[0].files.map((f: { path: string }) => f.path);
      expect(files).toContain('bin/thor-cutover.js');
      expect(files).toContain('dist/bundle/cli.js');
      expect(files).toContain('samples/thor-backend/ThorTrading/services/stack_start.py');
      expect(files).toContain('assets/report/report.js'); // the HTML report's script and styles
      expect(files).toContain('assets/report/report.css');
      expect(files.filter((f) => f.startsWith('test/') || f.startsWith('src/') || f.startsWith('bench/'))).toEqual([]);
      const prefix = join(dir, 'global');
      // --prefer-offline: npm ci has filled the cache with every runtime dependency.
      execFileSync('npm', ['install', '-g', '--prefer-offline', '--no-audit', '--no-fund', '--prefix', prefix, join(dir, packed[0].filename)], { stdio: 'ignore' });
      const installed = join(prefix, 'lib', 'node_modules', 'thor-cutover', 'node_modules');
      const deps = execFileSync('ls', [installed], { encoding: 'utf8' });
      expect(deps).not.toMatch(/vitest|typescript|playwright/);
      expect(deps).toMatch(/^uplot$/m); // inlined into every HTML report
      const version = execFileSync(join(prefix, 'bin', 'thor-cutover'), ['--version'], { encoding: 'utf8' });
      expect(version.trim()).toBe(JSON.parse(execFileSync('npm', ['pkg', 'get', 'version'], { cwd: ROOT, encoding: 'utf8' })));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
