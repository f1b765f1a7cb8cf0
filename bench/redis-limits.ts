/**
 * Requests a second of `g4f serve` with key limits in Redis, beside the same server without them,
 * in one run: "off" takes a `G4F_API_KEYS` key (no limits, in-process state); "on" takes a named
 * key with rpm, tpm, max-parallel and a budget, all so high that none refuses, with `G4F_REDIS_URL`
 * set (each request is checked, counted, charged and freed in Redis; the requests of one event-loop
 * turn share one Lua script call; usage is added up in memory and written every second). The
 * upstream is the bench's pre-rendered upstream in a child process; the servers alternate round by
 * round, and the median of each side is compared. bench/redis-limits-builds.ts runs the limits-on
 * server of several builds the same way.
 *
 * Needs the build (`npm run build`) and redis-server (`bash scripts/setup.sh`). Run alone:
 * `node --import tsx bench/redis-limits.ts`, or `npm run bench -- --only redis-limits`; writes
 * bench/results/redis-limits.md.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRedis } from '../test/services.js';
import { compileChildScripts, compiledScript, PROJECT_ROOT, sampleProcess, startChild, stopAllChildren, type Child } from './child-process.js';
import { callOf, percentile, runLoad, verifyTarget, type Target } from './load.js';

const BIN = join(PROJECT_ROOT, 'bin', 'g4f.js');
const CONNECTIONS = 32;

export interface RedisLimitsResult {
  off: number[];
  on: number[];
  failures: { off: number; on: number };
  /** CPU time of the g4f serve process per request, ms (utime + stime over the round's requests). */
  cpu: { off: number[]; on: number[] };
}

function median(values: readonly number[]): number {
  return percentile(values, 0.5);
}

/** The config every server of these benches reads: one OpenAI-compatible provider on the bench upstream. Returns its path. */
export function writeBenchConfig(folder: string, upstreamUrl: string): string {
  const config = join(folder, 'g4f.config.json');
  writeFileSync(
    config,
    JSON.stringify({
      providers: [{ type: 'openai-compatible', name: 'bench', baseUrl: `${upstreamUrl}/v1`, models: ['bench-model'] }],
      models: { 'bench-model': ['bench'] },
    }),
  );
  return config;
}

/** The environment of a server (or `g4f keys`) with its own data folder. */
export function benchEnvironment(config: string, dataDir: string): Record<string, string> {
  return { G4F_DATA_DIR: dataDir, G4F_CONFIG: config, NO_COLOR: '1' };
}

/** A named key with rpm, tpm, max-parallel and a budget, all so high that none refuses, made with `bin`'s `g4f keys create`. */
export function createUnrefusingKey(bin: string, name: string, env: Record<string, string>): string {
  const limits = ['--rpm', '1000000000', '--tpm', '1000000000000', '--max-parallel', '100000', '--budget-tokens', '1000000000000'];
  const created = spawnSync(process.execPath, [bin, 'keys', 'create', '--name', name, ...limits, '--data-dir', env.G4F_DATA_DIR ?? ''], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  if (created.status !== 0) throw new Error(`${name}: g4f keys create failed: ${created.stderr}`);
  return created.stdout.trim();
}

/** `g4f serve` of `bin` in a child process, resolved once it says where it listens. */
export function serveBuild(bin: string, name: string, env: Record<string, string>): Promise<Child> {
  return startChild({
    name,
    args: [bin, 'serve', '--port', '0', '--log-format', 'json'],
    env,
    parseUrl: (line) => /listening on (http:\/\/\S+)/.exec(line)?.[1],
  });
}

export async function runRedisLimitsBench(options: { quick?: boolean; log?: (line: string) => void } = {}): Promise<RedisLimitsResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(`[redis-limits] ${line}\n`));
  const rounds = options.quick === true ? 1 : 4;
  const seconds = options.quick === true ? 3 : 8;
  const folder = mkdtempSync(join(tmpdir(), 'g4f-bench-redis-'));
  const redis = await startRedis();
  const servers: Child[] = [];
  try {
    await compileChildScripts();
    const upstream = await startChild({ name: 'upstream', args: [compiledScript('upstream')] });
    const config = writeBenchConfig(folder, upstream.url);
    const offEnvironment = benchEnvironment(config, join(folder, 'off'));
    const onEnvironment = benchEnvironment(config, join(folder, 'on'));
    const namedKey = createUnrefusingKey(BIN, 'bench', onEnvironment);
    const off = await serveBuild(BIN, 'g4f-limits-off', { ...offEnvironment, G4F_API_KEYS: 'bench-static-key' });
    const on = await serveBuild(BIN, 'g4f-limits-on', { ...onEnvironment, G4F_REDIS_URL: redis.url });
    servers.push(off, on);
    const targets: Record<'off' | 'on', Target> = {
      off: { name: 'limits off', url: off.url, headers: { authorization: 'Bearer bench-static-key' } },
      on: { name: 'limits on (Redis)', url: on.url, headers: { authorization: `Bearer ${namedKey}` } },
    };
    for (const target of Object.values(targets)) {
      const check = await verifyTarget(target, 'chat', false);
      if (!check.ok) throw new Error(`${target.name}: ${check.detail}`);
    }
    const result: RedisLimitsResult = { off: [], on: [], failures: { off: 0, on: 0 }, cpu: { off: [], on: [] } };
    const pids = { off: off.pid, on: on.pid };
    // A warm-up of each (the JIT), then alternating rounds.
    await runLoad(targets.off, callOf('chat', false), CONNECTIONS, 3);
    await runLoad(targets.on, callOf('chat', false), CONNECTIONS, 3);
    for (let round = 0; round < rounds; round++) {
      for (const side of round % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const)) {
        const cpuBefore = sampleProcess(pids[side]).cpuMs;
        const load = await runLoad(targets[side], callOf('chat', false), CONNECTIONS, seconds);
        result.cpu[side].push((sampleProcess(pids[side]).cpuMs - cpuBefore) / Math.max(1, load.requests));
        result[side].push(load.requestsPerSecond);
        result.failures[side] += load.failures;
        log(
          `round ${round + 1} ${side}: ${load.requestsPerSecond.toFixed(0)} req/s, ${(result.cpu[side].at(-1) ?? 0).toFixed(3)} CPU ms/request, ${load.failures} failures`,
        );
      }
    }
    const report = renderReport(result, rounds, seconds);
    process.stdout.write(`${report}\n`);
    if (options.quick !== true) {
      mkdirSync(join(PROJECT_ROOT, 'bench', 'results'), { recursive: true });
      writeFileSync(join(PROJECT_ROOT, 'bench', 'results', 'redis-limits.md'), report);
      log('written to bench/results/redis-limits.md');
    }
    return result;
  } finally {
    await stopAllChildren();
    await redis.close();
    rmSync(folder, { recursive: true, force: true });
  }
}

function renderReport(result: RedisLimitsResult, rounds: number, seconds: number): string {
  const off = median(result.off);
  const on = median(result.on);
  const change = ((on - off) / off) * 100;
  const cpuChange = ((median(result.cpu.on) - median(result.cpu.off)) / median(result.cpu.off)) * 100;
  return [
    '# Key limits in Redis: requests a second of g4f serve, on and off',
    '',
    `\`g4f serve\` as built (bin/g4f.js, Node's default heap), Node ${process.version}, ${cpus().length} CPUs, ${new Date().toISOString().slice(0, 10)}; \`node --import tsx bench/redis-limits.ts\` (or \`npm run bench -- --only redis-limits\`). ` +
      `Non-streamed chat completions, ${CONNECTIONS} connections, ${rounds} alternating rounds of ${seconds} s per side; the upstream is the bench's pre-rendered upstream (bench/upstream.ts) in its own process; Redis on 127.0.0.1.`,
    '',
    '| server | req/s per round | median req/s | g4f CPU ms per request (median) | failures |',
    '|---|---|---:|---:|---:|',
    `| limits off (G4F_API_KEYS key, in-process state) | ${result.off.map((value) => value.toFixed(0)).join(', ')} | ${off.toFixed(0)} | ${median(result.cpu.off).toFixed(3)} | ${result.failures.off} |`,
    `| limits on (named key: rpm, tpm, max-parallel, budget; Redis) | ${result.on.map((value) => value.toFixed(0)).join(', ')} | ${on.toFixed(0)} | ${median(result.cpu.on).toFixed(3)} | ${result.failures.on} |`,
    '',
    `With limits on: **${change >= 0 ? '+' : ''}${change.toFixed(1)}%** requests a second (the target: within 15%); the server's own CPU time per request ${cpuChange >= 0 ? '+' : ''}${cpuChange.toFixed(1)}%. ` +
      'Every process (load generator, upstream, server, Redis) shares the same CPUs: on a busy machine the rounds vary more than the two sides differ.',
    '',
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  runRedisLimitsBench({ quick: process.argv.includes('--quick') }).catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  });
}
