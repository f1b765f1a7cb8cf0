/**
 * `npm run bench`: the gateway benchmark, then the start-up, web long-task, import memory and token counting
 * benchmarks when their files exist. Flags: `--only gateway|startup|web|import|tokens|upstream|redis-limits`, `--quick`, `--duration SECONDS`,
 * `--rounds N`, `--profile` (gateway only: CPU profile of g4f serve under load, no table),
 * `--g4f-node-args=--max-semi-space-size=4` (extra node flags for the g4f serve process),
 * `--before-node-args=...` (the same for the `before` target), `--before-commit SHA|FOLDER` (default f6f9b8c),
 * `--g4f-root FOLDER` (the g4f target runs that folder's dist/),
 * `--scenario 50-stream` (repeatable: only these load scenarios, no sequential part),
 * `--targets floor,before,g4f` (only these targets). `--only soak --minutes N` (default 5) and
 * `--only streams --streams N` (default 1000) run only when asked for.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { killAllChildrenNow, PROJECT_ROOT } from './child-process.js';
import { SCENARIOS, TARGET_NAMES, runGatewayBench, type TargetName } from './gateway.js';
import { runSoakBench, runStreamsBench } from './memory.js';
import { runProfile } from './profile.js';
import { renderReport } from './report.js';

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    quick: { type: 'boolean', default: false },
    duration: { type: 'string' },
    rounds: { type: 'string' },
    profile: { type: 'boolean', default: false },
    'g4f-node-args': { type: 'string' },
    'before-node-args': { type: 'string' },
    'before-commit': { type: 'string' },
    'g4f-root': { type: 'string' },
    minutes: { type: 'string' },
    streams: { type: 'string' },
    scenario: { type: 'string', multiple: true },
    targets: { type: 'string' },
  },
  strict: true,
});

const BENCHES = ['gateway', 'startup', 'web', 'import', 'tokens', 'upstream', 'soak', 'streams', 'redis-limits'] as const;
/** Run only when asked for with --only. */
const ON_REQUEST: readonly string[] = ['soak', 'streams'];
type BenchName = (typeof BENCHES)[number];
if (values.only !== undefined && !BENCHES.includes(values.only as BenchName)) {
  process.stderr.write(`--only must be one of ${BENCHES.join(', ')}\n`);
  process.exit(2);
}
const selected = (name: BenchName): boolean => (values.only === undefined && !ON_REQUEST.includes(name)) || values.only === name;
const log = (line: string): void => {
  process.stderr.write(`[bench] ${line}\n`);
};
const positive = (text: string | undefined, flag: string): number | undefined => {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) {
    process.stderr.write(`${flag} must be a positive number\n`);
    process.exit(2);
  }
  return value;
};

process.on('exit', killAllChildrenNow);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    killAllChildrenNow();
    process.exit(130);
  });
}

async function runGateway(): Promise<void> {
  const durationSeconds = positive(values.duration, '--duration');
  const rounds = positive(values.rounds, '--rounds');
  const scenarioKeys = SCENARIOS.map((scenario) => scenario.key);
  for (const key of values.scenario ?? []) {
    if (!scenarioKeys.includes(key)) {
      process.stderr.write(`--scenario must be one of ${scenarioKeys.join(', ')}\n`);
      process.exit(2);
    }
  }
  const targets = values.targets?.split(',').map((name) => name.trim());
  for (const name of targets ?? []) {
    if (!TARGET_NAMES.includes(name as TargetName)) {
      process.stderr.write(`--targets takes a comma-separated list of ${TARGET_NAMES.join(', ')}\n`);
      process.exit(2);
    }
  }
  const options = {
    quick: values.quick,
    ...(values.scenario === undefined ? {} : { scenarios: values.scenario }),
    ...(targets === undefined ? {} : { targets: targets as TargetName[] }),
    log,
    ...(durationSeconds === undefined ? {} : { durationSeconds }),
    ...(rounds === undefined ? {} : { rounds: Math.round(rounds) }),
    ...(values['g4f-node-args'] === undefined ? {} : { g4fNodeArgs: values['g4f-node-args'].split(/\s+/).filter((arg) => arg !== '') }),
    ...(values['before-node-args'] === undefined ? {} : { beforeNodeArgs: values['before-node-args'].split(/\s+/).filter((arg) => arg !== '') }),
    ...(values['before-commit'] === undefined ? {} : { beforeCommit: values['before-commit'] }),
    ...(values['g4f-root'] === undefined ? {} : { g4fRoot: values['g4f-root'] }),
  };
  if (values.profile) {
    process.stdout.write(`${await runProfile(options)}\n`);
    return;
  }
  const report = renderReport(await runGatewayBench(options));
  if (values.scenario !== undefined || targets !== undefined) {
    // A partial run is printed, never written over the full report.
    process.stdout.write(`${report}\n`);
    return;
  }
  const folder = join(PROJECT_ROOT, 'bench/results');
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'gateway.md'), report);
  process.stdout.write(`${report}\n`);
  log('written to bench/results/gateway.md');
}

/** Import a sibling benchmark when its file exists; its function prints its own results. */
async function runOptional(file: string, exportName: string): Promise<void> {
  if (!existsSync(join(PROJECT_ROOT, 'bench', file))) {
    log(`skipping bench/${file}: the file does not exist yet`);
    return;
  }
  const module = (await import(`./${file}`)) as Record<string, unknown>;
  const run = module[exportName];
  if (typeof run !== 'function') {
    log(`skipping bench/${file}: it does not export ${exportName}()`);
    return;
  }
  await (run as (options: { quick: boolean }) => Promise<unknown>)({ quick: values.quick });
}

let failed = false;
const steps: Array<[BenchName, () => Promise<void>]> = [
  ['gateway', runGateway],
  ['startup', () => runOptional('startup.ts', 'runStartupBench')],
  ['web', () => runOptional('web-longtask.ts', 'runWebLongTaskBench')],
  ['import', () => runOptional('import-memory.ts', 'runImportMemoryBench')],
  ['tokens', () => runOptional('token-count.ts', 'runTokenCountBench')],
  ['upstream', () => runOptional('upstream-limits.ts', 'runUpstreamLimitsBench')],
  [
    'soak',
    async () => {
      const minutes = positive(values.minutes, '--minutes');
      await runSoakBench({ log, ...(minutes === undefined ? {} : { minutes }) });
    },
  ],
  [
    'streams',
    async () => {
      const streams = positive(values.streams, '--streams');
      await runStreamsBench({ log, ...(streams === undefined ? {} : { streams: Math.round(streams) }) });
    },
  ],
  ['redis-limits', () => runOptional('redis-limits.ts', 'runRedisLimitsBench')],
];
for (const [name, step] of steps) {
  if (!selected(name)) continue;
  try {
    await step();
  } catch (error) {
    failed = true;
    log(`${name} benchmark failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  }
}
process.exitCode = failed ? 1 : 0;
