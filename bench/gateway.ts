/**
 * The gateway benchmark: the emulated upstream called directly, a bare pass-through proxy,
 * `g4f serve` and the Portkey gateway, each in its own process, loaded side by side with the
 * targets alternating run by run. Returns the measurements; `report.ts` turns them into a table.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PROJECT_ROOT, compileChildScripts, compiledScript, sampleProcess, startChild, stopAllChildren, type Child } from './child-process.js';
import { percentile, runLoad, runSequential, verifyTarget, type Target } from './load.js';
import { installPortkey, portkeyHeaders, startPortkey } from './portkey.js';

export type TargetName = 'direct' | 'bare' | 'g4f' | 'portkey';
export const TARGET_NAMES: readonly TargetName[] = ['direct', 'bare', 'g4f', 'portkey'];

export interface GatewayBenchOptions {
  /** Seconds per load run (default 5; `quick`: 2). */
  durationSeconds?: number;
  /** Runs per target and scenario, alternating targets (default 2; `quick`: 1). */
  rounds?: number;
  /** Sequential requests per target for the one-connection latency and TTFB (default 300; `quick`: 100). */
  sequentialCount?: number;
  quick?: boolean;
  /** Extra `node` arguments for the g4f child (e.g. `--cpu-prof`). */
  g4fNodeArgs?: readonly string[];
  /** Only these targets (default all). */
  targets?: readonly TargetName[];
  /** Only these load scenarios (keys like `50-stream`, see scenarioKey); the sequential part is then skipped. */
  scenarios?: readonly string[];
  log?: (line: string) => void;
}

export interface Scenario {
  connections: number;
  stream: boolean;
}

export interface ScenarioMeasure {
  requests: number;
  seconds: number;
  requestsPerSecond: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  failures: number;
  /** CPU of the target's own process per request (for `direct`: the emulator). */
  cpuMsPerRequest: number;
  /** CPU of the emulator per request while loading this target. */
  upstreamCpuMsPerRequest: number;
  /** Highest RSS sampled during the runs. */
  peakRssBytes: number;
}

export interface SequentialMeasure {
  latencyP50Ms: number;
  firstByteP50Ms: number;
  count: number;
  failures: number;
}

export interface TargetMeasures {
  name: TargetName;
  available: boolean;
  /** Why the target is missing or flagged. */
  note: string;
  scenarios: Map<string, ScenarioMeasure>;
  sequential: Map<boolean, SequentialMeasure>;
  /** VmHWM of the target's process at the end of the bench. */
  peakRssBytes: number;
}

export interface GatewayBenchResult {
  startedAt: Date;
  options: Required<Pick<GatewayBenchOptions, 'durationSeconds' | 'rounds' | 'sequentialCount' | 'g4fNodeArgs'>>;
  scenarios: readonly Scenario[];
  targets: Map<TargetName, TargetMeasures>;
}

export const SCENARIOS: readonly Scenario[] = [
  { connections: 1, stream: false },
  { connections: 1, stream: true },
  { connections: 50, stream: false },
  { connections: 50, stream: true },
];

export function scenarioKey(scenario: Scenario): string {
  return `${scenario.connections}-${scenario.stream ? 'stream' : 'json'}`;
}

interface Running {
  target: Target;
  child: Child;
}

function emptyMeasures(name: TargetName, note: string): TargetMeasures {
  return { name, available: false, note, scenarios: new Map(), sequential: new Map(), peakRssBytes: 0 };
}

const median = (values: readonly number[]): number => percentile(values, 0.5);

/** The Node flags of `g4f serve` (package.json `g4f.serveNodeOptions`, read by bin/g4f.js too). */
async function serveNodeOptions(): Promise<string[]> {
  const text = await readFile(join(PROJECT_ROOT, 'package.json'), 'utf8');
  const options = (JSON.parse(text) as { g4f?: { serveNodeOptions?: string } }).g4f?.serveNodeOptions ?? '';
  return options.split(/\s+/).filter((flag) => flag !== '');
}

export async function runGatewayBench(options: GatewayBenchOptions = {}): Promise<GatewayBenchResult> {
  const quick = options.quick === true;
  const durationSeconds = options.durationSeconds ?? (quick ? 2 : 5);
  const rounds = options.rounds ?? (quick ? 1 : 2);
  const sequentialCount = options.sequentialCount ?? (quick ? 100 : 300);
  const log = options.log ?? (() => undefined);
  const wanted = new Set(options.targets ?? TARGET_NAMES);
  const targets = new Map<TargetName, TargetMeasures>();
  for (const name of TARGET_NAMES) if (wanted.has(name)) targets.set(name, emptyMeasures(name, 'not started'));
  // By default the server runs with the Node flags `g4f serve` itself uses.
  const g4fNodeArgs = options.g4fNodeArgs ?? (await serveNodeOptions());
  const scenarios = options.scenarios === undefined ? SCENARIOS : SCENARIOS.filter((scenario) => options.scenarios?.includes(scenarioKey(scenario)));
  const result: GatewayBenchResult = { startedAt: new Date(), options: { durationSeconds, rounds, sequentialCount, g4fNodeArgs }, scenarios, targets };

  try {
    await compileChildScripts();
    const emulator = await startChild({ name: 'emulator', args: [compiledScript('emulator-target')] });
    log(`emulator at ${emulator.url}`);
    const upstreamEnv = { UPSTREAM_URL: emulator.url };
    const running = new Map<TargetName, Running>();
    if (wanted.has('direct')) running.set('direct', { child: emulator, target: { name: 'direct', url: emulator.url, headers: {} } });

    const starters: Record<Exclude<TargetName, 'direct'>, () => Promise<Running>> = {
      bare: async () => {
        const child = await startChild({ name: 'bare proxy', args: [compiledScript('bare-proxy')], env: upstreamEnv });
        return { child, target: { name: 'bare', url: child.url, headers: {} } };
      },
      g4f: async () => {
        const child = await startChild({ name: 'g4f serve', args: [...g4fNodeArgs, compiledScript('serve-target')], env: upstreamEnv });
        return { child, target: { name: 'g4f', url: child.url, headers: {} } };
      },
      portkey: async () => {
        const child = await startPortkey(await installPortkey(log));
        return { child, target: { name: 'portkey', url: child.url, headers: portkeyHeaders(emulator.url) } };
      },
    };
    for (const name of ['bare', 'g4f', 'portkey'] as const) {
      if (!wanted.has(name)) continue;
      try {
        running.set(name, await starters[name]());
        log(`${name} at ${running.get(name)?.target.url ?? '?'}`);
      } catch (error) {
        targets.set(name, emptyMeasures(name, `could not start: ${error instanceof Error ? error.message : String(error)}`));
        log(`${name}: could not start: ${error instanceof Error ? error.message : String(error)}`);
      }
    }

    for (const [name, { target }] of running) {
      const verification = await verifyTarget(target);
      if (!verification.ok) {
        targets.set(name, emptyMeasures(name, `wrong answers: ${verification.detail}`));
        running.delete(name);
        log(`${name}: wrong answers, not loaded: ${verification.detail}`);
        continue;
      }
      targets.set(name, { ...emptyMeasures(name, ''), available: true });
    }

    log('warming up');
    for (const [, { target }] of running) {
      for (const stream of [false, true]) await runLoad(target, stream, 50, 1);
    }

    if (options.scenarios === undefined) log(`one connection, ${sequentialCount} sequential requests per target and round`);
    for (const stream of options.scenarios === undefined ? [false, true] : []) {
      const collected = new Map<TargetName, { latencies: number[]; firstBytes: number[]; failures: number }>();
      for (let round = 0; round < rounds; round += 1) {
        for (const [name, { target }] of running) {
          const sequential = await runSequential(target, stream, sequentialCount);
          const entry = collected.get(name) ?? { latencies: [], firstBytes: [], failures: 0 };
          entry.latencies.push(...sequential.latencies);
          entry.firstBytes.push(...sequential.firstBytes);
          entry.failures += sequential.failures;
          collected.set(name, entry);
        }
      }
      for (const [name, entry] of collected) {
        targets.get(name)?.sequential.set(stream, {
          latencyP50Ms: median(entry.latencies),
          firstByteP50Ms: median(entry.firstBytes),
          count: entry.latencies.length,
          failures: entry.failures,
        });
      }
    }

    for (const scenario of scenarios) {
      log(`load: ${scenario.connections} connection(s), ${scenario.stream ? 'streamed' : 'not streamed'}, ${rounds} x ${durationSeconds} s per target`);
      const runs = new Map<TargetName, { requests: number; seconds: number; p50: number[]; p99: number[]; failures: number; cpuMs: number; upstreamCpuMs: number; peakRss: number }>();
      for (let round = 0; round < rounds; round += 1) {
        for (const [name, { target, child }] of running) {
          let peakRss = 0;
          const sampler = setInterval(() => {
            try {
              peakRss = Math.max(peakRss, sampleProcess(child.pid).rssBytes);
            } catch {
              // the process is gone; the load run reports the failures
            }
          }, 100);
          const before = sampleProcess(child.pid);
          const upstreamBefore = sampleProcess(emulator.pid);
          let load;
          try {
            load = await runLoad(target, scenario.stream, scenario.connections, durationSeconds);
          } finally {
            clearInterval(sampler);
          }
          const after = sampleProcess(child.pid);
          const upstreamAfter = sampleProcess(emulator.pid);
          peakRss = Math.max(peakRss, after.rssBytes);
          const entry = runs.get(name) ?? { requests: 0, seconds: 0, p50: [], p99: [], failures: 0, cpuMs: 0, upstreamCpuMs: 0, peakRss: 0 };
          entry.requests += load.requests;
          entry.seconds += load.durationSeconds;
          entry.p50.push(load.latencyP50Ms);
          entry.p99.push(load.latencyP99Ms);
          entry.failures += load.failures;
          entry.cpuMs += after.cpuMs - before.cpuMs;
          entry.upstreamCpuMs += upstreamAfter.cpuMs - upstreamBefore.cpuMs;
          entry.peakRss = Math.max(entry.peakRss, peakRss);
          runs.set(name, entry);
        }
      }
      for (const [name, entry] of runs) {
        const requests = Math.max(1, entry.requests);
        targets.get(name)?.scenarios.set(scenarioKey(scenario), {
          requests: entry.requests,
          seconds: entry.seconds,
          requestsPerSecond: entry.requests / entry.seconds,
          latencyP50Ms: median(entry.p50),
          latencyP99Ms: median(entry.p99),
          failures: entry.failures,
          cpuMsPerRequest: entry.cpuMs / requests,
          upstreamCpuMsPerRequest: entry.upstreamCpuMs / requests,
          peakRssBytes: entry.peakRss,
        });
      }
    }

    for (const [name, { child }] of running) {
      const measures = targets.get(name);
      if (measures !== undefined) measures.peakRssBytes = sampleProcess(child.pid).peakRssBytes;
    }
  } finally {
    await stopAllChildren();
  }
  return result;
}
