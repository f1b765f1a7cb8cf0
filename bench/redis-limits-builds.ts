/**
 * Key limits in Redis, build against build: `g4f serve` of each build given, each with its own
 * named key (rpm, tpm, max-parallel and a budget, all so high that none refuses) and the same
 * Redis, under the same load, round by round in alternating order; optionally `off`, this
 * checkout with a `G4F_API_KEYS` key and no Redis. Prints req/s, the server's CPU ms per request
 * and Redis's CPU ms per request (both from /proc), per round and their medians. Builds are
 * folders with a `bin/g4f.js` and its `dist/` (`git archive COMMIT | tar -x -C FOLDER`, node_modules
 * linked, `npx tsc -p tsconfig.build.json` there).
 *
 *   node --import tsx bench/redis-limits-builds.ts --build before=/tmp/g4f-old --build after=. [--off] [--rounds 6] [--duration 6]
 *
 * Prints only (the measures' gains are written by hand in bench/README.md).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { startRedis } from '../test/services.js';
import { compileChildScripts, compiledScript, PROJECT_ROOT, sampleProcess, startChild, stopAllChildren } from './child-process.js';
import { callOf, percentile, runLoad, verifyTarget, type Target } from './load.js';
import { benchEnvironment, createUnrefusingKey, serveBuild, writeBenchConfig } from './redis-limits.js';

const CONNECTIONS = 32;

const { values } = parseArgs({
  options: {
    build: { type: 'string', multiple: true, default: [] },
    off: { type: 'boolean', default: false },
    rounds: { type: 'string', default: '6' },
    duration: { type: 'string', default: '6' },
  },
  strict: true,
});

const builds = values.build.map((text) => {
  const [name, folder] = text.split('=');
  if (name === undefined || folder === undefined || name === '' || folder === '') throw new Error(`--build NAME=FOLDER (got ${text})`);
  return { name, folder: resolve(folder) };
});
if (builds.length === 0) throw new Error('give at least one --build NAME=FOLDER');
const rounds = Number(values.rounds);
const seconds = Number(values.duration);

const folder = mkdtempSync(join(tmpdir(), 'g4f-bench-builds-'));
const redis = await startRedis();
const probe = new Redis(redis.url);
try {
  await compileChildScripts();
  const upstream = await startChild({ name: 'upstream', args: [compiledScript('upstream')] });
  const config = writeBenchConfig(folder, upstream.url);
  const redisPid = Number(/process_id:(\d+)/.exec(await probe.info('server'))?.[1]);
  const servers: Array<{ name: string; target: Target; pid: number }> = [];
  for (const build of builds) {
    const bin = join(build.folder, 'bin', 'g4f.js');
    const env = benchEnvironment(config, join(folder, build.name));
    const key = createUnrefusingKey(bin, `bench-${build.name}`, env);
    const server = await serveBuild(bin, `builds-${build.name}`, { ...env, G4F_REDIS_URL: redis.url });
    servers.push({ name: build.name, target: { name: build.name, url: server.url, headers: { authorization: `Bearer ${key}` } }, pid: server.pid });
  }
  if (values.off) {
    const env = { ...benchEnvironment(config, join(folder, 'off')), G4F_API_KEYS: 'bench-static-key' };
    const server = await serveBuild(join(PROJECT_ROOT, 'bin', 'g4f.js'), 'builds-off', env);
    servers.push({ name: 'off', target: { name: 'off', url: server.url, headers: { authorization: 'Bearer bench-static-key' } }, pid: server.pid });
  }
  for (const server of servers) {
    const check = await verifyTarget(server.target, 'chat', false);
    if (!check.ok) throw new Error(`${server.name}: ${check.detail}`);
    await runLoad(server.target, callOf('chat', false), CONNECTIONS, 3); // the JIT
  }
  const results = new Map(servers.map((server) => [server.name, { rps: [] as number[], cpu: [] as number[], redis: [] as number[] }]));
  for (let round = 0; round < rounds; round++) {
    for (const server of round % 2 === 0 ? servers : [...servers].reverse()) {
      const cpuBefore = sampleProcess(server.pid).cpuMs;
      const redisBefore = sampleProcess(redisPid).cpuMs;
      const load = await runLoad(server.target, callOf('chat', false), CONNECTIONS, seconds);
      const result = results.get(server.name) as { rps: number[]; cpu: number[]; redis: number[] };
      result.rps.push(load.requestsPerSecond);
      result.cpu.push((sampleProcess(server.pid).cpuMs - cpuBefore) / Math.max(1, load.requests));
      result.redis.push((sampleProcess(redisPid).cpuMs - redisBefore) / Math.max(1, load.requests));
      process.stdout.write(
        `round ${round + 1} ${server.name}: ${load.requestsPerSecond.toFixed(0)} req/s, g4f CPU ${(result.cpu.at(-1) ?? 0).toFixed(3)} ms/request, Redis CPU ${(result.redis.at(-1) ?? 0).toFixed(3)} ms/request, ${load.failures} failures\n`,
      );
    }
  }
  for (const [name, result] of results) {
    process.stdout.write(
      `${name}: median ${percentile(result.rps, 0.5).toFixed(0)} req/s, g4f CPU ${percentile(result.cpu, 0.5).toFixed(3)} ms/request, Redis CPU ${percentile(result.redis, 0.5).toFixed(3)} ms/request\n`,
    );
  }
} finally {
  probe.disconnect();
  await stopAllChildren();
  await redis.close();
  rmSync(folder, { recursive: true, force: true });
}
