import { describe, expect, it } from 'vitest';
import { redactText, redactUrl } from '../src/redact.js';
import { formatDuration, printable } from '../src/output/format.js';
import { runCli } from './support/cli.js';

describe('secrets never reach output', () => {
  it.each([
    ['redis://admin:hunter2@127.0.0.1:6379/0', 'redis://***@127.0.0.1:6379/0'],
    ['redis://:p@ss/word@redis.internal:6380', 'redis://***@redis.internal:6380'],
    ['rediss://127.0.0.1:6380?password=s3cr3t&db=1', 'rediss://127.0.0.1:6380?password=***&db=1'],
    ['redis+sentinel://s1:26379,s2:26379/mymaster?sentinelPassword=TOPSECRET', 'redis+sentinel://s1:26379,s2:26379/mymaster?sentinelPassword=***'],
    ['ws://thor:8000/ws/?token=abc&x=1&token=def', 'ws://thor:8000/ws/?token=***&x=1&token=***'],
    ['http://thor:8000', 'http://thor:8000'],
  ])('%s -> %s', (url, expected) => {
    expect(redactUrl(url)).toBe(expected);
  });

  it('redacts every URL inside a message', () => {
    expect(redactText('connect to redis://u:pw@h:1 failed; ws://h/ws/?token=t too')).toBe('connect to redis://***@h:1 failed; ws://h/ws/?token=*** too');
  });

  it('a password in a query parameter is not printed by status --json or by a connection error', async () => {
    const r = await runCli(['status', '--json', '--redis', 'redis://127.0.0.1:1?password=s3cr3t-q']);
    expect(r.code).toBe(2);
    expect(r.stdout + r.stderr).not.toContain('s3cr3t-q');
    expect(r.stderr).toContain('redis://127.0.0.1:1?password=***');
  });

  it('a rejected URL in the config is shown redacted, and an unparseable Redis URL is a config error', async () => {
    const bad = await runCli(['status', '--redis', 'redis://:pa/ss@host']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('location: redis.url');
    expect(bad.stderr).not.toContain('pa/ss');
    expect(bad.stderr).not.toMatch(/bug in thor-cutover/);
    const ws = await runCli(['doctor', '--ws-url', 'http://thor/ws/?token=SECRET-T']);
    expect(ws.code).toBe(2);
    expect(ws.stderr).toContain('location: backend.wsUrl');
    expect(ws.stderr).not.toContain('SECRET-T');
  });
});

describe('formatDuration', () => {
  it.each([[250, '250ms'], [1500, '1.5s'], [90_000, '1m30s'], [119_700, '2m'], [3_600_000, '1h00m']])('%d ms -> %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe('text other people wrote', () => {
  it('shows control characters instead of sending them to the terminal', () => {
    expect(printable('rollback \u001b[2J\u001b[31mFAKE\u0007')).toBe('rollback \\x1b[2J\\x1b[31mFAKE\\x07');
    expect(printable('week 1 cutover')).toBe('week 1 cutover');
  });
});
