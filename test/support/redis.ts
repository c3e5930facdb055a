import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import type { Simulator } from '../../src/sim/index.js';

/** A free TCP port on 127.0.0.1 (bind to 0, read it, release it). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as { port: number }).port;
  srv.close();
  await once(srv, 'close');
  return port;
}

/**
 * A port on 127.0.0.1 where nothing listens and nothing can start listening while the test
 * holds it: the local end of a connection of the test's own (a connect there is refused, a
 * bind says "address in use"). For "Redis is unreachable" without handing over a released
 * port another test's server may take in between, as freePort would.
 */
export async function refusedPort(): Promise<{ port: number; close(): Promise<void> }> {
  const accepted: Socket[] = [];
  const srv = createServer((s) => { accepted.push(s); });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const held = connect((srv.address() as { port: number }).port, '127.0.0.1');
  await once(held, 'connect');
  return {
    port: held.localPort!,
    async close() {
      held.destroy();
      for (const s of accepted) s.destroy();
      await new Promise<void>((resolve) => srv.close(() => resolve()));
    },
  };
}

export interface RedisServerOptions {
  password?: string;
  port?: number;
  /** More redis-server arguments (cluster mode, sentinel), appended as given. */
  extraArgs?: (dir: string) => string[];
  /**
   * A config file the test writes in the server's directory, given before the arguments
   * (Sentinel needs one it can rewrite). Written again for each start: a retry on another
   * port starts from it, not from what a failed start left.
   */
  configFile?: (dir: string) => string;
  /**
   * What the server keeps across a restart: nothing (the default: `--save '' --appendonly
   * no`, a test's Redis forgets), an append-only file, or RDB snapshots.
   */
  persistence?: 'none' | 'aof' | 'rdb';
}

/**
 * A real redis-server of the test's own, on a free port, so a test can stop and restart
 * it to prove what happens when Redis goes away.
 */
export class TestRedis {
  private proc: ChildProcess | null = null;
  private dir = mkdtempSync(join(tmpdir(), 'thor-redis-'));
  port = 0;

  constructor(private readonly opts: RedisServerOptions = {}) {}

  get url(): string {
    return this.opts.password ? `redis://:${this.opts.password}@127.0.0.1:${this.port}` : `redis://127.0.0.1:${this.port}`;
  }

  /**
   * Starts redis-server. redis-server cannot be told "any free port and tell me": a port
   * found free can be taken before it binds, so a bind that fails on a port this class chose
   * is retried on another (a fixed `port` option is not: the test asked for that one).
   */
  async start(): Promise<this> {
    for (let attempt = 1; ; attempt++) {
      const chosen = !this.port && this.opts.port === undefined;
      if (!this.port) this.port = this.opts.port ?? (await freePort());
      try {
        await this.spawn();
        return this;
      } catch (err) {
        if (!chosen || attempt >= 5 || !/Address already in use/i.test((err as Error).message)) throw err;
        this.port = 0;
      }
    }
  }

  private async spawn(): Promise<void> {
    const args = [...(this.opts.configFile ? [this.opts.configFile(this.dir)] : []), '--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir];
    const persistence = this.opts.persistence ?? 'none';
    args.push('--save', persistence === 'rdb' ? '3600 1' : '', '--appendonly', persistence === 'aof' ? 'yes' : 'no');
    if (this.opts.password) args.push('--requirepass', this.opts.password);
    if (this.opts.extraArgs) args.push(...this.opts.extraArgs(this.dir));
    const proc = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    let log = '';
    await new Promise<void>((resolve, reject) => {
      const onData = (b: Buffer) => {
        log += b.toString();
        if (/Ready to accept connections|Sentinel ID is/.test(log)) { proc.stdout!.off('data', onData); resolve(); }
      };
      proc.stdout!.on('data', onData);
      proc.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${log}`)));
      proc.once('error', reject);
    });
    proc.stdout!.resume();
    proc.stderr!.resume();
  }

  async stop(): Promise<void> {
    const proc = this.proc;
    this.proc = null;
    if (!proc || proc.exitCode !== null) return;
    proc.kill('SIGKILL');
    await once(proc, 'exit');
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** A plain client for assertions on the keys. */
  client(): Redis {
    return new Redis({ port: this.port, host: '127.0.0.1', password: this.opts.password, lazyConnect: false, maxRetriesPerRequest: 1 });
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

let counter = 0;
/** A prefix of the test's own, with the hash tag, so tests sharing a server never collide. */
export function uniquePrefix(name = 't'): string {
  return `{thor:${name}:${process.pid}:${Date.now().toString(36)}:${counter++}}`;
}

/**
 * One TestRedis and a client to it for the whole test file: started before the first test,
 * stopped after the last. `ready` hands both over for the file's own variables.
 */
export function useTestRedis(ready: (redis: TestRedis, client: Redis) => void): void {
  let redis: TestRedis | undefined;
  let client: Redis | undefined;
  beforeAll(async () => {
    redis = await new TestRedis().start();
    client = redis.client();
    ready(redis, client);
  });
  afterAll(async () => {
    client?.disconnect();
    await redis?.dispose();
  });
}

/**
 * A rehearsal for a CLI test file: a redis-server of its own and a simulator started by
 * `start` (in a fresh working directory, also handed to the tests), before the file's tests
 * and stopped after them.
 */
export function useRehearsal(
  start: (cwd: string) => Promise<Simulator>,
  ready: (r: { redis: TestRedis; client: Redis; sim: Simulator; cwd: string }) => void,
): void {
  let redis: TestRedis | undefined;
  let client: Redis | undefined;
  let sim: Simulator | undefined;
  beforeAll(async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'rehearsal-'));
    redis = await new TestRedis().start();
    client = redis.client();
    sim = await start(cwd);
    ready({ redis, client, sim, cwd });
  }, 30_000);
  afterAll(async () => {
    await sim?.close();
    client?.disconnect();
    await redis?.dispose();
  });
}
