/**
 * Bench targets run in child processes, so each one's CPU time and memory are its own and the
 * load generator does not share their event loop. Child scripts are compiled once with esbuild
 * (no TypeScript loader in the measured process), started, and read from /proc while they run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, readSync, fstatSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { build } from 'esbuild';

export const PROJECT_ROOT = resolve(import.meta.dirname, '..');
export const CACHE_DIR = join(PROJECT_ROOT, '.bench-cache');
const COMPILED_DIR = join(CACHE_DIR, 'bin');
const STDERR_KEPT_BYTES = 8_192;

export interface Child {
  name: string;
  pid: number;
  url: string;
  process: ChildProcess;
  /** The last few KiB of its stderr. */
  stderrTail(): string;
  stop(): Promise<void>;
}

export interface ProcessSample {
  /** utime + stime, milliseconds. */
  cpuMs: number;
  rssBytes: number;
  /** Peak resident set since start (VmHWM). */
  peakRssBytes: number;
}

const children = new Set<Child>();

/** Compile the child scripts (serve-target, floor, upstream and what they import) to plain ESM. */
export async function compileChildScripts(): Promise<void> {
  await build({
    entryPoints: ['serve-target.ts', 'floor.ts', 'upstream.ts', 'answers.ts'].map((file) => join(PROJECT_ROOT, 'bench', file)),
    outdir: COMPILED_DIR,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    bundle: false,
    logLevel: 'error',
  });
}

export function compiledScript(name: string): string {
  return join(COMPILED_DIR, `${name}.js`);
}

export interface StartChildOptions {
  name: string;
  /** Arguments to `node`. */
  args: readonly string[];
  env?: Record<string, string>;
  cwd?: string;
  /** Picks the URL out of a stdout line; default: a JSON line with `url`. */
  parseUrl?: (line: string) => string | undefined;
  timeoutMs?: number;
}

function jsonUrl(line: string): string | undefined {
  try {
    const value = JSON.parse(line) as { url?: unknown };
    return typeof value.url === 'string' ? value.url : undefined;
  } catch {
    return undefined;
  }
}

/** Start `node ...args` and resolve once it printed its URL. */
export function startChild(options: StartChildOptions): Promise<Child> {
  // A child's stderr (g4f's request log) goes to a file, as a deployed server's would: the bench
  // process, which also generates the load, does no work for it.
  const logFolder = join(CACHE_DIR, 'logs');
  mkdirSync(logFolder, { recursive: true });
  const logFile = openSync(join(logFolder, `${options.name.replace(/[^a-z0-9]+/gi, '-')}.log`), 'w+');
  const child = spawn(process.execPath, [...options.args], {
    cwd: options.cwd ?? PROJECT_ROOT,
    env: { ...process.env, G4F_BENCH_ROOT: PROJECT_ROOT, ...options.env },
    stdio: ['pipe', 'pipe', logFile],
  });
  const stderr = (): string => {
    try {
      const size = fstatSync(logFile).size;
      const length = Math.min(size, STDERR_KEPT_BYTES);
      const buffer = Buffer.alloc(length);
      readSync(logFile, buffer, 0, length, size - length);
      return buffer.toString('utf8');
    } catch {
      return '';
    }
  };
  child.once('close', () => closeSync(logFile));
  const parse = options.parseUrl ?? jsonUrl;
  const timeoutMs = options.timeoutMs ?? 20_000;
  return new Promise<Child>((resolvePromise, reject) => {
    let settled = false;
    const lines = createInterface({ input: child.stdout! });
    const fail = (reason: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      lines.close();
      child.kill('SIGKILL');
      reject(new Error(`${options.name}: ${reason}${stderr() === '' ? '' : `\n${stderr().trim().split('\n').slice(-8).join('\n')}`}`));
    };
    const timer = setTimeout(() => fail(`no URL printed within ${timeoutMs} ms`), timeoutMs);
    child.once('error', (error) => fail(error.message));
    child.once('exit', (code, signal) => fail(`exited early (code ${String(code)}, signal ${String(signal)})`));
    lines.on('line', (line) => {
      if (settled) return;
      const url = parse(line);
      if (url === undefined) return;
      settled = true;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      child.stdout?.resume(); // keep draining: a full pipe would block the child
      const handle: Child = {
        name: options.name,
        pid: child.pid!,
        url,
        process: child,
        stderrTail: stderr,
        stop: () => stopChild(handle),
      };
      children.add(handle);
      resolvePromise(handle);
    });
  });
}

function stopChild(handle: Child): Promise<void> {
  children.delete(handle);
  const child = handle.process;
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise<void>((resolvePromise) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolvePromise();
    });
    child.stdin?.end();
    child.kill('SIGTERM');
  });
}

/** Stop every child still running (SIGTERM, then SIGKILL after 3 s). */
export async function stopAllChildren(): Promise<void> {
  await Promise.all([...children].map((child) => child.stop()));
}

/** Last resort on exit: no child may outlive the bench. */
export function killAllChildrenNow(): void {
  for (const child of children) child.process.kill('SIGKILL');
  children.clear();
}

const CLOCK_TICK_MS = 10; // USER_HZ is 100 on Linux

/** CPU time and memory of a process, from /proc. */
export function sampleProcess(pid: number): ProcessSample {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
  const ticks = Number(fields[11]) + Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string): number => {
    const match = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status);
    return match === null ? 0 : Number(match[1]) * 1024;
  };
  return { cpuMs: ticks * CLOCK_TICK_MS, rssBytes: kib('VmRSS'), peakRssBytes: kib('VmHWM') };
}
