/**
 * The gateway benchmark: the bench upstream (bench/upstream.ts) called directly, the floor (the
 * leanest correct proxy, bench/floor.ts), `g4f serve`, optionally g4f as of an earlier commit
 * (`before`) and the Portkey gateway, each in its own process, loaded side by side with the
 * targets alternating run by run. Returns the measurements; `report.ts` turns them into a table.
 */
import { compileChildScripts, compiledScript, sampleProcess, startChild, stopAllChildren, type Child } from './child-process.js';
import { buildBefore, DEFAULT_BEFORE_COMMIT } from './before.js';
import { callOf, percentile, runLoad, runSequential, verifyTarget, type Door, type Target } from './load.js';
import { installPortkey, portkeyHeaders, startPortkey } from './portkey.js';

export type TargetName = 'direct' | 'floor' | 'floor-request' | 'floor-http' | 'floor-abortsignal' | 'before' | 'g4f' | 'portkey';
export const TARGET_NAMES: readonly TargetName[] = ['direct', 'floor', 'floor-request', 'floor-http', 'floor-abortsignal', 'before', 'g4f', 'portkey'];
/** Run unless `--targets` names others: the floor's other shapes and `before` are asked for by name. */
export const DEFAULT_TARGETS: readonly TargetName[] = ['direct', 'floor', 'g4f', 'portkey'];

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
  /** Extra `node` arguments for the `before` child. */
  beforeNodeArgs?: readonly string[];
  /** The commit the `before` target is built from (default f6f9b8c), or a folder with a build in dist/. */
  beforeCommit?: string;
  /** A folder whose dist/ the g4f target runs instead of this project's (to compare two builds). */
  g4fRoot?: string;
  /** Only these targets (default DEFAULT_TARGETS). */
  targets?: readonly TargetName[];
  /** Only these load scenarios (keys like `50-stream`, see SCENARIOS); the sequential part is then skipped. */
  scenarios?: readonly string[];
  log?: (line: string) => void;
}

export interface Scenario {
  key: string;
  connections: number;
  door: Door;
  stream: boolean;
  label: string;
}

export interface ScenarioMeasure {
  requests: number;
  seconds: number;
  requestsPerSecond: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  failures: number;
  /** CPU of the target's own process per request (for `direct`: the upstream). */
  cpuMsPerRequest: number;
  /** CPU of the upstream per request while loading this target. */
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
  /** Scenarios it answered wrongly (not loaded), with why. */
  wrong: Map<string, string>;
  scenarios: Map<string, ScenarioMeasure>;
  sequential: Map<boolean, SequentialMeasure>;
  /** VmHWM of the target's process at the end of the bench. */
  peakRssBytes: number;
  /** VmHWM of the target's process once the chat completions scenarios ran, before any other door was asked. */
  chatPeakRssBytes: number;
}

export interface GatewayBenchResult {
  startedAt: Date;
  options: Required<Pick<GatewayBenchOptions, 'durationSeconds' | 'rounds' | 'sequentialCount' | 'g4fNodeArgs' | 'beforeNodeArgs' | 'beforeCommit'>>;
  scenarios: readonly Scenario[];
  targets: Map<TargetName, TargetMeasures>;
}

/** The doors of chat completions (the floor's API): their scenarios come first. */
export const CHAT_DOORS: readonly Door[] = ['chat', 'tools'];

export const SCENARIOS: readonly Scenario[] = [
  { key: '1-json', connections: 1, door: 'chat', stream: false, label: 'chat completions, 1 connection, not streamed' },
  { key: '1-stream', connections: 1, door: 'chat', stream: true, label: 'chat completions, 1 connection, streamed (20 chunks)' },
  { key: '50-json', connections: 50, door: 'chat', stream: false, label: 'chat completions, 50 connections, not streamed' },
  { key: '50-stream', connections: 50, door: 'chat', stream: true, label: 'chat completions, 50 connections, streamed (20 chunks)' },
  {
    key: '50-tools',
    connections: 50,
    door: 'tools',
    stream: true,
    label: 'chat completions with a tool call, 50 connections, streamed (a call in 20 fragments)',
  },
  {
    key: '50-messages',
    connections: 50,
    door: 'messages',
    stream: true,
    label: '/v1/messages, 50 connections, streamed (from the same OpenAI-format upstream)',
  },
  {
    key: '50-responses',
    connections: 50,
    door: 'responses',
    stream: true,
    label: '/v1/responses, 50 connections, streamed (from the same OpenAI-format upstream)',
  },
];

/**
 * The doors each target has: the upstream and the floor speak chat completions only; `before` at
 * its default commit had neither tool calls nor the other doors (at another commit: all of them).
 */
export function servesDoor(name: TargetName, door: Door, beforeCommit = DEFAULT_BEFORE_COMMIT): boolean {
  if (name === 'g4f') return true;
  if (name === 'before') return beforeCommit !== DEFAULT_BEFORE_COMMIT || door === 'chat';
  return door === 'chat' || door === 'tools';
}

/** The floor's scenario a scenario is compared with: its own, or streamed chat at 50 for the doors the floor lacks. */
export function floorScenarioOf(scenario: Scenario): string {
  return servesDoor('floor', scenario.door) ? scenario.key : '50-stream';
}

interface Running {
  target: Target;
  child: Child;
}

function emptyMeasures(name: TargetName, note: string): TargetMeasures {
  return { name, available: false, note, wrong: new Map(), scenarios: new Map(), sequential: new Map(), peakRssBytes: 0, chatPeakRssBytes: 0 };
}

const median = (values: readonly number[]): number => percentile(values, 0.5);

export async function runGatewayBench(options: GatewayBenchOptions = {}): Promise<GatewayBenchResult> {
  const quick = options.quick === true;
  const durationSeconds = options.durationSeconds ?? (quick ? 2 : 5);
  const rounds = options.rounds ?? (quick ? 1 : 2);
  const sequentialCount = options.sequentialCount ?? (quick ? 100 : 300);
  const log = options.log ?? (() => undefined);
  const wanted = new Set(options.targets ?? DEFAULT_TARGETS);
  const targets = new Map<TargetName, TargetMeasures>();
  for (const name of TARGET_NAMES) if (wanted.has(name)) targets.set(name, emptyMeasures(name, 'not started'));
  const g4fNodeArgs = options.g4fNodeArgs ?? [];
  const beforeNodeArgs = options.beforeNodeArgs ?? [];
  const beforeCommit = options.beforeCommit ?? DEFAULT_BEFORE_COMMIT;
  const scenarios = options.scenarios === undefined ? SCENARIOS : SCENARIOS.filter((scenario) => options.scenarios?.includes(scenario.key));
  const result: GatewayBenchResult = {
    startedAt: new Date(),
    options: { durationSeconds, rounds, sequentialCount, g4fNodeArgs, beforeNodeArgs, beforeCommit },
    scenarios,
    targets,
  };

  try {
    await compileChildScripts();
    const upstream = await startChild({ name: 'upstream', args: [compiledScript('upstream')] });
    log(`upstream at ${upstream.url}`);
    const upstreamEnv = { UPSTREAM_URL: upstream.url };
    const running = new Map<TargetName, Running>();
    if (wanted.has('direct')) running.set('direct', { child: upstream, target: { name: 'direct', url: upstream.url, headers: {} } });

    const floor =
      (name: TargetName, shape: string, abort = 'emitter') =>
      async (): Promise<Running> => {
        const child = await startChild({ name, args: [compiledScript('floor')], env: { ...upstreamEnv, FLOOR_SHAPE: shape, FLOOR_ABORT: abort } });
        return { child, target: { name, url: child.url, headers: {} } };
      };
    const starters: Record<Exclude<TargetName, 'direct'>, () => Promise<Running>> = {
      floor: floor('floor', 'stream'),
      'floor-request': floor('floor-request', 'request'),
      'floor-http': floor('floor-http', 'http'),
      'floor-abortsignal': floor('floor-abortsignal', 'stream', 'signal'),
      before: async () => {
        const root = await buildBefore(beforeCommit, log);
        const child = await startChild({
          name: 'g4f before',
          args: [...beforeNodeArgs, compiledScript('serve-target')],
          env: { ...upstreamEnv, G4F_BENCH_ROOT: root },
        });
        return { child, target: { name: 'before', url: child.url, headers: {} } };
      },
      g4f: async () => {
        const env = options.g4fRoot === undefined ? upstreamEnv : { ...upstreamEnv, G4F_BENCH_ROOT: options.g4fRoot };
        const child = await startChild({ name: 'g4f serve', args: [...g4fNodeArgs, compiledScript('serve-target')], env });
        return { child, target: { name: 'g4f', url: child.url, headers: {} } };
      },
      portkey: async () => {
        const child = await startPortkey(await installPortkey(log));
        return { child, target: { name: 'portkey', url: child.url, headers: portkeyHeaders(upstream.url) } };
      },
    };
    for (const name of TARGET_NAMES) {
      if (name === 'direct' || !wanted.has(name)) continue;
      try {
        running.set(name, await starters[name]());
        log(`${name} at ${running.get(name)?.target.url ?? '?'}`);
      } catch (error) {
        targets.set(name, emptyMeasures(name, `could not start: ${error instanceof Error ? error.message : String(error)}`));
        log(`${name}: could not start: ${error instanceof Error ? error.message : String(error)}`);
      }
    }

    // Each target answers a door right once before it is loaded there (a wrong one is not loaded).
    // Chat completions are checked first; the other doors just before their own loads, so that
    // nothing of theirs (the tokenizer the Messages door counts input tokens with) is in the
    // process while the chat completions load runs.
    for (const [name] of running) targets.set(name, { ...emptyMeasures(name, ''), available: true });
    const verified = new Set<string>();
    const verify = async (doors: readonly Door[]): Promise<void> => {
      for (const [name, { target }] of running) {
        const measures = targets.get(name);
        if (measures === undefined) continue;
        for (const scenario of SCENARIOS) {
          const key = `${scenario.door}-${scenario.stream}`;
          if (!doors.includes(scenario.door) || !servesDoor(name, scenario.door, beforeCommit) || verified.has(`${name} ${key}`)) continue;
          verified.add(`${name} ${key}`);
          const verification = await verifyTarget(target, scenario.door, scenario.stream);
          if (!verification.ok) {
            measures.wrong.set(key, verification.detail);
            log(`${name}: wrong answers on ${scenario.key}, not loaded there: ${verification.detail}`);
          }
        }
      }
    };
    await verify(CHAT_DOORS);
    const answersRight = (name: TargetName, scenario: Scenario): boolean =>
      servesDoor(name, scenario.door, beforeCommit) && targets.get(name)?.wrong.has(`${scenario.door}-${scenario.stream}`) === false;

    log('warming up');
    for (const [name, { target }] of running)
      for (const stream of [false, true]) if (targets.get(name)?.wrong.has(`chat-${stream}`) === false) await runLoad(target, callOf('chat', stream), 50, 1);

    if (options.scenarios === undefined) log(`one connection, ${sequentialCount} sequential requests per target and round`);
    for (const stream of options.scenarios === undefined ? [false, true] : []) {
      const collected = new Map<TargetName, { latencies: number[]; firstBytes: number[]; failures: number }>();
      for (let round = 0; round < rounds; round += 1) {
        for (const [name, { target }] of running) {
          if (targets.get(name)?.wrong.has(`chat-${stream}`) !== false) continue;
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

    const recordChatPeak = (): void => {
      for (const [name, { child }] of running) {
        const measures = targets.get(name);
        if (measures !== undefined && measures.chatPeakRssBytes === 0) measures.chatPeakRssBytes = sampleProcess(child.pid).peakRssBytes;
      }
    };
    for (const scenario of scenarios) {
      if (!CHAT_DOORS.includes(scenario.door)) {
        recordChatPeak();
        await verify([scenario.door]);
      }
      log(`load: ${scenario.label}, ${rounds} x ${durationSeconds} s per target`);
      const call = callOf(scenario.door, scenario.stream);
      if (scenario.connections > 1) for (const [name, { target }] of running) if (answersRight(name, scenario)) await runLoad(target, call, 50, 1);
      const runs = new Map<
        TargetName,
        { requests: number; seconds: number; p50: number[]; p99: number[]; failures: number; cpuMs: number; upstreamCpuMs: number; peakRss: number }
      >();
      for (let round = 0; round < rounds; round += 1) {
        for (const [name, { target, child }] of running) {
          if (!answersRight(name, scenario)) continue;
          let peakRss = 0;
          const sampler = setInterval(() => {
            try {
              peakRss = Math.max(peakRss, sampleProcess(child.pid).rssBytes);
            } catch {
              // the process is gone; the load run reports the failures
            }
          }, 100);
          const before = sampleProcess(child.pid);
          const upstreamBefore = sampleProcess(upstream.pid);
          let load: Awaited<ReturnType<typeof runLoad>>;
          try {
            load = await runLoad(target, call, scenario.connections, durationSeconds);
          } finally {
            clearInterval(sampler);
          }
          const after = sampleProcess(child.pid);
          const upstreamAfter = sampleProcess(upstream.pid);
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
        targets.get(name)?.scenarios.set(scenario.key, {
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

    recordChatPeak();
    for (const [name, { child }] of running) {
      const measures = targets.get(name);
      if (measures !== undefined) measures.peakRssBytes = Math.max(measures.chatPeakRssBytes, sampleProcess(child.pid).peakRssBytes);
    }
  } finally {
    await stopAllChildren();
  }
  return result;
}
