/**
 * Start-up time of the command line against bare Node (`node -e 0`):
 * - `g4f --version`: spawn to exit;
 * - `g4f ask`: spawn until the upstream emulator has received the request;
 * - `g4f ask` with the prompt piped in 300 ms after the spawn (`git diff | g4f ask` with a slow
 *   `git diff`): spawn until the request, which the command can send 300 ms after the spawn at
 *   the earliest. Not a case of the 2x goal.
 * - the HTTP client's Agent and the command parser, each loaded alone by `node -e`: not cases of
 *   the goal, they show how much of `ask`'s time its dependencies take before any of its own code.
 * N runs each after warm-up runs; median, p90 and the ratio to bare Node's median.
 * Needs the build (`npm run build`). Run alone: `node --import tsx bench/startup.ts [--runs N]`;
 * `--compare` adds the tsc output run directly (`node dist/cli/main.js`, without bin/g4f.js),
 * `--entry FILE` (repeatable) any other entry script, e.g. the bin/g4f.js of another build.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createEmulator, type Emulator } from '../src/emulators/index.js';

const ROOT = resolve(import.meta.dirname, '..');
/** The start-up goal: within this factor of bare Node. */
export const STARTUP_GOAL_RATIO = 2;
/** How long after the spawn the piped prompt is written, in the piped case. */
export const PIPED_PROMPT_DELAY_MS = 300;

export interface StartupBenchOptions {
  /** Fewer runs. */
  quick?: boolean;
  /** Measured runs per case (default 21, quick 7). */
  runs?: number;
  /** Print the table to stdout (default true). */
  print?: boolean;
  /** Entry scripts measured besides bin/g4f.js (paths from the repository root). */
  entries?: readonly string[];
}

export interface StartupCase {
  name: string;
  /** A case of the 2x goal (the piped case is not). */
  goal: boolean;
  command: string;
  samplesMs: number[];
  medianMs: number;
  p90Ms: number;
  /** Median over bare Node's median. */
  ratio: number;
}

export interface StartupBenchResult {
  runs: number;
  cases: StartupCase[];
  table: string;
}

interface Measure {
  name: string;
  command: string;
  goal: boolean;
  once(): Promise<number>;
}

export async function runStartupBench(options: StartupBenchOptions = {}): Promise<StartupBenchResult> {
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) throw new Error('run `npm run build` first');
  const runs = options.runs ?? (options.quick === true ? 7 : 21);
  const workDir = mkdtempSync(join(tmpdir(), 'g4f-startup-'));
  const emulator = await createEmulator({ protocol: 'openai', defaultPlan: { text: 'ok', chunkCount: 1 } });
  const env = benchEnv(emulator, workDir);
  try {
    const measures: Measure[] = [{ name: 'bare node', command: 'node -e 0', goal: false, once: () => timeToExit(['-e', '0'], env, workDir) }];
    // What `ask` cannot do without, loaded alone: the HTTP client's Agent (the files src/core/undici.ts
    // loads) and the command parser. Not cases of the goal: they show how much of it they take.
    for (const [name, file] of [
      ['undici Agent alone', 'node_modules/undici/lib/dispatcher/agent.js'],
      ['commander alone', 'node_modules/commander/index.js'],
    ] as const) {
      const code = `require(${JSON.stringify(join(ROOT, file))})`;
      measures.push({ name, command: `node -e "require('${file}')"`, goal: false, once: () => timeToExit(['-e', code], env, workDir) });
    }
    for (const entry of ['bin/g4f.js', ...(options.entries ?? [])]) {
      const path = resolve(ROOT, entry);
      const label = entry === 'bin/g4f.js' ? 'g4f' : `g4f (${entry})`;
      measures.push(
        { name: `${label} --version`, command: `node ${entry} --version`, goal: true, once: () => timeToExit([path, '--version'], env, workDir) },
        {
          name: `${label} ask (to request sent)`,
          command: `node ${entry} ask hi`,
          goal: true,
          once: () => timeToRequest(emulator, [path, 'ask', 'hi'], env, workDir),
        },
        {
          name: `${label} ask, prompt piped at ${PIPED_PROMPT_DELAY_MS} ms (to request sent)`,
          command: `node ${entry} ask, stdin "hi" at ${PIPED_PROMPT_DELAY_MS} ms`,
          goal: false,
          once: () => timeToRequest(emulator, [path, 'ask'], env, workDir, PIPED_PROMPT_DELAY_MS),
        },
      );
    }
    const cases: StartupCase[] = [];
    // Interleave the cases run by run, so that a slow phase of the machine hits all of them.
    const samples = measures.map(() => [] as number[]);
    for (const measure of measures) await measure.once(); // warm-up (file cache)
    for (let run = 0; run < runs; run++) {
      for (const [index, measure] of measures.entries()) samples[index]?.push(await measure.once());
    }
    const baseline = median(samples[0] ?? []);
    for (const [index, measure] of measures.entries()) {
      const values = samples[index] ?? [];
      cases.push({
        name: measure.name,
        goal: measure.goal,
        command: measure.command,
        samplesMs: values,
        medianMs: median(values),
        p90Ms: percentile(values, 0.9),
        ratio: median(values) / baseline,
      });
    }
    const table = renderTable(cases, runs);
    if (options.print !== false) process.stdout.write(`${table}\n`);
    return { runs, cases, table };
  } finally {
    await emulator.close();
    rmSync(workDir, { recursive: true, force: true });
  }
}

function benchEnv(emulator: Emulator, workDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('G4F_') && !key.startsWith('NODE_')) env[key] = value;
  }
  // Both built-in providers point at the emulator; nothing leaves 127.0.0.1.
  return { ...env, G4F_MISHALSGPT_URL: emulator.url, G4F_LOCKCHAT_URL: emulator.url, G4F_DATA_DIR: join(workDir, 'data') };
}

function timeToExit(args: readonly string[], env: NodeJS.ProcessEnv, cwd: string): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, args, { env, cwd, stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', (code) => {
      const elapsed = performance.now() - started;
      if (code === 0) resolvePromise(elapsed);
      else reject(new Error(`node ${args.join(' ')} exited ${code}`));
    });
  });
}

/**
 * Spawn to the emulator receiving the request; then waits for the run to finish. With
 * `pipedAfterMs`, the prompt is written to the child's stdin that long after the spawn.
 */
function timeToRequest(emulator: Emulator, args: readonly string[], env: NodeJS.ProcessEnv, cwd: string, pipedAfterMs?: number): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    let elapsed: number | undefined;
    const started = performance.now();
    const unsubscribe = emulator.on('request', () => {
      elapsed ??= performance.now() - started;
    });
    const child = spawn(process.execPath, args, { env, cwd, stdio: [pipedAfterMs === undefined ? 'ignore' : 'pipe', 'ignore', 'ignore'] });
    const timer = pipedAfterMs === undefined ? undefined : setTimeout(() => child.stdin?.end('hi\n'), pipedAfterMs);
    child.stdin?.on('error', () => undefined);
    child.on('error', (error) => {
      clearTimeout(timer);
      unsubscribe();
      reject(error);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      unsubscribe();
      emulator.reset();
      if (code !== 0 || elapsed === undefined) reject(new Error(`node ${args.join(' ')} exited ${code} (request seen: ${elapsed !== undefined})`));
      else resolvePromise(elapsed);
    });
  });
}

function median(values: readonly number[]): number {
  return percentile(values, 0.5);
}

function percentile(values: readonly number[], fraction: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * fraction;
  const low = Math.floor(position);
  const high = Math.ceil(position);
  const lowValue = sorted[low] ?? Number.NaN;
  const highValue = sorted[high] ?? lowValue;
  return lowValue + (highValue - lowValue) * (position - low);
}

function renderTable(cases: readonly StartupCase[], runs: number): string {
  const rows = cases.map((entry) => [
    entry.name,
    entry.command,
    entry.medianMs.toFixed(1),
    entry.p90Ms.toFixed(1),
    entry.goal || !entry.command.includes('g4f') ? `${entry.ratio.toFixed(2)}x` : '',
    entry.goal ? (entry.ratio <= STARTUP_GOAL_RATIO ? 'yes' : 'no') : '',
  ]);
  const header = ['case', 'command', 'median ms', 'p90 ms', 'vs node -e 0', `within ${STARTUP_GOAL_RATIO}x`];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]): string => `| ${cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(' | ')} |`;
  return [
    `### CLI start-up (${runs} runs each, Node ${process.version}, ${process.platform}/${process.arch})`,
    '',
    line(header),
    `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`,
    ...rows.map(line),
  ].join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string' },
      quick: { type: 'boolean', default: false },
      compare: { type: 'boolean', default: false },
      entry: { type: 'string', multiple: true, default: [] },
    },
    strict: true,
  });
  const entries = [...(values.compare ? ['dist/cli/main.js'] : []), ...values.entry];
  const runs = values.runs === undefined ? undefined : Number(values.runs);
  if (runs !== undefined && (!Number.isInteger(runs) || runs <= 0)) {
    process.stderr.write('--runs must be a positive whole number\n');
    process.exit(2);
  }
  await runStartupBench({ quick: values.quick, entries, ...(runs === undefined ? {} : { runs }) });
}
