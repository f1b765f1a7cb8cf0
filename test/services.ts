/**
 * PostgreSQL and Redis for the tests: each started on 127.0.0.1, on a free port, in a temporary
 * folder of its own, and stopped by the test that started it (never a system service). PostgreSQL
 * refuses to run as root, so as root its processes run as the `postgres` user.
 * `bash scripts/setup.sh` installs both; a test skips itself with a reason when they are missing.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { Redis } from 'ioredis';

const POSTGRES_ROOT = '/usr/lib/postgresql';

/** The folder of PostgreSQL's server binaries (the newest installed version), if any. */
export function postgresBinaries(): string | undefined {
  if (!existsSync(POSTGRES_ROOT)) return undefined;
  const versions = readdirSync(POSTGRES_ROOT)
    .filter((name) => existsSync(join(POSTGRES_ROOT, name, 'bin', 'postgres')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(POSTGRES_ROOT, versions[0], 'bin');
}

export function redisBinary(): string | undefined {
  for (const candidate of ['/usr/bin/redis-server', '/usr/local/bin/redis-server']) if (existsSync(candidate)) return candidate;
  return undefined;
}

/** Why the replica tests cannot run here (undefined when they can). */
/**
 * Why the tests that need PostgreSQL and Redis cannot run here, or undefined. In CI (`CI=true`,
 * where scripts/setup.sh installs both) a missing server is a failure, never a skip.
 */
export function servicesMissing(): string | undefined {
  const reason =
    postgresBinaries() === undefined
      ? 'PostgreSQL is not installed (bash scripts/setup.sh installs it)'
      : redisBinary() === undefined
        ? 'redis-server is not installed (bash scripts/setup.sh installs it)'
        : undefined;
  if (reason !== undefined && process.env.CI === 'true') throw new Error(`${reason}; CI must have it`);
  return reason;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Polls `check` until it resolves true (or throws after `timeoutMs`). */
export async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`${what} not ready after ${timeoutMs} ms${last instanceof Error ? `: ${last.message}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

const asRoot = process.getuid?.() === 0;

/** The command line, run as the `postgres` user when this process is root. */
function asPostgresUser(command: string, args: string[]): [string, string[]] {
  return asRoot ? ['setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', '--', command, ...args]] : [command, args];
}

export interface PostgresService {
  url: string;
  port: number;
  /** Stops the server (fast shutdown); the data folder stays, for `start`. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  /** Stops it and removes its folder. */
  close(): Promise<void>;
}

export async function startPostgres(): Promise<PostgresService> {
  const bin = postgresBinaries();
  if (bin === undefined) throw new Error('PostgreSQL is not installed');
  const folder = mkdtempSync(join(tmpdir(), 'g4f-postgres-'));
  const data = join(folder, 'data');
  if (asRoot) {
    chmodSync(folder, 0o755);
    const ids = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    const gids = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
    chownSync(folder, Number(ids.stdout.trim()), Number(gids.stdout.trim()));
  }
  const [initdb, initArgs] = asPostgresUser(join(bin, 'initdb'), ['-D', data, '-U', 'g4f', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8']);
  const init = spawnSync(initdb, initArgs, { encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
  const port = await freePort();
  let child: ChildProcess | undefined;
  const url = `postgres://g4f@127.0.0.1:${port}/postgres`;

  async function start(): Promise<void> {
    const [command, args] = asPostgresUser(join(bin as string, 'postgres'), [
      '-D',
      data,
      '-h',
      '127.0.0.1',
      '-p',
      String(port),
      '-k',
      folder,
      '-c',
      'fsync=off',
      '-c',
      'max_connections=200',
    ]);
    child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    const running = child;
    await waitFor(async () => {
      if (running.exitCode !== null) throw new Error(`postgres exited: ${stderr}`);
      const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
      client.on('error', () => undefined);
      try {
        await client.connect();
        await client.query('SELECT 1');
        return true;
      } finally {
        await client.end().catch(() => undefined);
      }
    }, 'PostgreSQL');
  }

  async function stop(): Promise<void> {
    const running = child;
    child = undefined;
    if (running === undefined) return;
    // SIGINT: PostgreSQL's fast shutdown (disconnects clients, then stops cleanly).
    running.kill('SIGINT');
    await exited(running);
  }

  await start();
  return {
    url,
    port,
    stop,
    start,
    async close() {
      await stop();
      rmSync(folder, { recursive: true, force: true });
    },
  };
}

export interface RedisService {
  url: string;
  port: number;
  /** Kills the server (SIGKILL: nothing is saved; it keeps no data anyway). */
  kill(): Promise<void>;
  /** Starts it again on the same port. */
  start(): Promise<void>;
  close(): Promise<void>;
}

export async function startRedis(): Promise<RedisService> {
  const binary = redisBinary();
  if (binary === undefined) throw new Error('redis-server is not installed');
  const folder = mkdtempSync(join(tmpdir(), 'g4f-redis-'));
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;

  async function start(): Promise<void> {
    child = spawn(binary as string, ['--port', String(port), '--bind', '127.0.0.1', '--dir', folder, '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    });
    const running = child;
    await waitFor(async () => {
      if (running.exitCode !== null) throw new Error('redis-server exited');
      const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
      client.on('error', () => undefined);
      try {
        await client.connect();
        return (await client.ping()) === 'PONG';
      } finally {
        client.disconnect();
      }
    }, 'Redis');
  }

  async function kill(): Promise<void> {
    const running = child;
    child = undefined;
    if (running === undefined) return;
    running.kill('SIGKILL');
    await exited(running);
  }

  await start();
  return {
    url,
    port,
    kill,
    start,
    async close() {
      await kill();
      rmSync(folder, { recursive: true, force: true });
    },
  };
}
