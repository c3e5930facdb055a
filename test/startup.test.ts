import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import type { Redis } from 'ioredis';
import { ROOT, cliEnv, runCli, type RunResult } from './support/cli.js';
import { uniquePrefix, useTestRedis, type TestRedis } from './support/redis.js';

let redis: TestRedis;
let client: Redis;
useTestRedis((r, c) => { redis = r; client = c; });

/**
 * A copy of the shipped files (package.json, bin, the bundle) in a folder of its own: the
 * code cache this test corrupts is that copy's, not the one other test files use.
 */
let install: string;
beforeAll(() => {
  install = mkdtempSync(join(tmpdir(), 'thor-install-'));
  cpSync(join(ROOT, 'package.json'), join(install, 'package.json'));
  cpSync(join(ROOT, 'bin'), join(install, 'bin'), { recursive: true });
  cpSync(join(ROOT, 'dist', 'bundle'), join(install, 'dist', 'bundle'), { recursive: true });
  for (const name of ['ioredis', 'commander']) rmSync(join(install, 'dist', 'bundle', 'vendor', `${name}.cjs.v8cache`), { force: true });
});
afterAll(() => rmSync(install, { recursive: true, force: true }));

function runInstalled(args: string[], env: Record<string, string>): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(install, 'bin', 'thor-cutover.js'), ...args], { cwd: install, env: cliEnv(env) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => { stdout += b.toString(); });
    child.stderr.on('data', (b: Buffer) => { stderr += b.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr }); });
  });
}

describe('start-up: the bundle compiles ioredis and commander from a V8 code cache', () => {
  it('writes the cache on the first run, and a corrupt cache is replaced, never obeyed', async () => {
    const prefix = uniquePrefix('startup');
    await client.hset(`${prefix}:flags`, 'account_balance', 'true');
    const env = { THOR_CUTOVER_REDIS_URL: redis.url, THOR_CUTOVER_PREFIX: prefix };
    const cache = join(install, 'dist', 'bundle', 'vendor', 'ioredis.cjs.v8cache');
    expect(existsSync(cache)).toBe(false);

    const first = await runInstalled(['status', '--json'], env);
    expect(first.code).toBe(0);
    const enabled = (r: RunResult) => (JSON.parse(r.stdout) as { features: { name: string; enabled: boolean }[] }).features
      .filter((f) => f.enabled).map((f) => f.name);
    expect(enabled(first)).toEqual(['account_balance']);
    expect(existsSync(cache)).toBe(true);
    expect(existsSync(join(install, 'dist', 'bundle', 'vendor', 'commander.cjs.v8cache'))).toBe(true);

    // Garbage where the cache was: V8 rejects it, the run is the same, a good cache comes back.
    const garbage = Buffer.alloc(4096, 7);
    writeFileSync(cache, garbage);
    const second = await runInstalled(['status', '--json'], env);
    expect(second.code).toBe(0);
    expect(second.stderr).toBe(first.stderr);
    expect(enabled(second)).toEqual(['account_balance']);
    expect(readFileSync(cache).equals(garbage)).toBe(false);
    expect(readFileSync(cache).length).toBeGreaterThan(10_000);
  });
});

describe('start-up: a read-only install keeps its code cache in the user\'s cache folder', () => {
  it('writes it under $XDG_CACHE_HOME/thor-cutover when the install folder cannot take it, and the next run uses it', async () => {
    const prefix = uniquePrefix('startup-xdg');
    const cacheHome = mkdtempSync(join(tmpdir(), 'thor-xdg-'));
    const beside = join(install, 'dist', 'bundle', 'vendor', 'commander.cjs.v8cache');
    // The place beside the file is taken by a folder: it can be neither read nor written as a cache.
    rmSync(beside, { force: true });
    mkdirSync(beside);
    try {
      const env = { THOR_CUTOVER_REDIS_URL: redis.url, THOR_CUTOVER_PREFIX: prefix, XDG_CACHE_HOME: cacheHome };
      const first = await runInstalled(['status', '--json'], env);
      expect(first.code).toBe(0);
      const dir = join(cacheHome, 'thor-cutover');
      const cached = readdirSync(dir).filter((f) => f.endsWith('commander.cjs.v8cache'));
      expect(cached).toEqual([`${encodeURIComponent(join(install, 'dist', 'bundle', 'vendor', 'commander.cjs'))}.v8cache`]);
      const written = statSync(join(dir, cached[0]!)).mtimeMs;
      const second = await runInstalled(['status', '--json'], env);
      expect(second.code).toBe(0);
      expect(JSON.parse(second.stdout)).toMatchObject({ kind: 'status' });
      // Accepted, so not written again.
      expect(statSync(join(dir, cached[0]!)).mtimeMs).toBe(written);
    } finally {
      rmSync(beside, { recursive: true, force: true });
      rmSync(cacheHome, { recursive: true, force: true });
    }
  });
});

describe('start-up: only the command named is registered', () => {
  it('finds the command after global options that take a value', async () => {
    const prefix = uniquePrefix('startup-args');
    const r = await runCli(['--redis', redis.url, '--prefix', prefix, 'status', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ kind: 'status' });
  });

  it('a misspelt command still gets "did you mean", and --help lists every command', async () => {
    const typo = await runCli(['--redis', 'redis://127.0.0.1:1', 'statsu']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain("unknown command 'statsu'");
    expect(typo.stderr).toContain('Did you mean status?');
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    for (const name of ['status', 'enable', 'disable', 'history', 'simulate', 'audit', 'init', 'verify', 'monitor', 'gate', 'parity', 'doctor', 'demo']) {
      expect(help.stdout).toMatch(new RegExp(`^  ${name}\\b`, 'm'));
    }
  });
});
