/**
 * Memory of `g4f serve` (bench/serve-target.ts, one process, Node's default heap) against the bench
 * upstream:
 *
 * - soak (`npm run bench -- --only soak [--minutes 5]`): streamed chat completions at 50
 *   connections for the whole time, in 30-second slices; the RSS of the serving process sampled
 *   every second. RSS is flat when the last minute's median is within 10% of the first minute's
 *   (the first minute includes warm-up). Also its peak (VmHWM) under that load.
 * - streams (`npm run bench -- --only streams [--streams 1000]`): that many streamed requests
 *   open at once, each slow (the upstream writes a frame every 500 ms); the RSS of the serving
 *   process once every stream has its first byte, minus its RSS idle, per stream.
 *
 * Results are printed and written to bench/results/soak.md and bench/results/streams.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { PROJECT_ROOT, compileChildScripts, compiledScript, sampleProcess, startChild, stopAllChildren } from './child-process.js';
import { callOf, percentile, runLoad } from './load.js';

const MIB = 1024 * 1024;
const mib = (bytes: number): string => `${(bytes / MIB).toFixed(1)} MiB`;

function write(name: string, text: string): void {
  const folder = join(PROJECT_ROOT, 'bench/results');
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, name), text);
  process.stdout.write(`${text}\n`);
}

export interface SoakOptions {
  minutes?: number;
  log?: (line: string) => void;
}

export async function runSoakBench(options: SoakOptions = {}): Promise<string> {
  const minutes = options.minutes ?? 5;
  const log = options.log ?? (() => undefined);
  const sliceSeconds = Math.min(30, minutes * 60);
  try {
    await compileChildScripts();
    const upstream = await startChild({ name: 'upstream', args: [compiledScript('upstream')] });
    const g4f = await startChild({ name: 'g4f serve', args: [compiledScript('serve-target')], env: { UPSTREAM_URL: upstream.url } });
    const samples: Array<{ second: number; rssBytes: number }> = [];
    const started = performance.now();
    const sampler = setInterval(() => samples.push({ second: (performance.now() - started) / 1000, rssBytes: sampleProcess(g4f.pid).rssBytes }), 1_000);
    const call = callOf('chat', true);
    let requests = 0;
    let failures = 0;
    const rows: string[] = [];
    try {
      while ((performance.now() - started) / 1000 < minutes * 60 - 1) {
        const load = await runLoad({ name: 'g4f', url: g4f.url, headers: {} }, call, 50, sliceSeconds);
        requests += load.requests;
        failures += load.failures;
        const elapsed = (performance.now() - started) / 1000;
        const recent = samples.filter((sample) => sample.second > elapsed - sliceSeconds).map((sample) => sample.rssBytes);
        rows.push(`| ${elapsed.toFixed(0)} | ${load.requestsPerSecond.toFixed(0)} | ${mib(percentile(recent, 0.5))} | ${mib(Math.max(...recent))} | ${load.failures} |`);
        log(`soak: ${elapsed.toFixed(0)} s, ${load.requestsPerSecond.toFixed(0)} req/s, RSS ${mib(percentile(recent, 0.5))}`);
      }
    } finally {
      clearInterval(sampler);
    }
    const total = (performance.now() - started) / 1000;
    const first = samples.filter((sample) => sample.second <= 60).map((sample) => sample.rssBytes);
    const last = samples.filter((sample) => sample.second > total - 60).map((sample) => sample.rssBytes);
    const change = percentile(last, 0.5) / percentile(first, 0.5) - 1;
    const peak = sampleProcess(g4f.pid).peakRssBytes;
    const text = [
      '# Soak: g4f serve at 50 connections, streamed',
      '',
      `Run ${new Date().toISOString()}, Node ${process.version}, \`npm run bench -- --only soak --minutes ${minutes}\`: streamed chat completions`,
      `(20 chunks) at 50 connections for ${minutes} minutes against bench/upstream.ts; g4f serve is one process with Node's default heap.`,
      '',
      '| seconds | req/s in the slice | RSS median in the slice | RSS max in the slice | failed |',
      '| ---: | ---: | ---: | ---: | ---: |',
      ...rows,
      '',
      `- ${requests} requests, ${failures} failed.`,
      `- RSS median, first minute: ${mib(percentile(first, 0.5))}; last minute: ${mib(percentile(last, 0.5))}; change ${(change * 100).toFixed(1)}% (goal: within 10%): ${Math.abs(change) <= 0.1 ? 'PASS' : 'FAIL'}.`,
      `- Peak RSS of the serving process (VmHWM): ${mib(peak)} (goal: at most 150 MiB): ${peak <= 150 * MIB ? 'PASS' : 'FAIL'}.`,
      '',
    ].join('\n');
    write('soak.md', text);
    return text;
  } finally {
    await stopAllChildren();
  }
}

export interface StreamsOptions {
  streams?: number;
  log?: (line: string) => void;
}

export async function runStreamsBench(options: StreamsOptions = {}): Promise<string> {
  const count = options.streams ?? 1000;
  const log = options.log ?? (() => undefined);
  const agent = new Agent({ connections: count + 10, keepAliveTimeout: 30_000, headersTimeout: 60_000, bodyTimeout: 60_000 });
  try {
    await compileChildScripts();
    const upstream = await startChild({ name: 'upstream slow', args: [compiledScript('upstream')], env: { UPSTREAM_FRAME_DELAY_MS: '500' } });
    const g4f = await startChild({ name: 'g4f serve', args: [compiledScript('serve-target')], env: { UPSTREAM_URL: upstream.url } });
    const call = callOf('chat', true);
    const send = (): Promise<{ firstByte: Promise<void>; done: Promise<boolean> }> =>
      request(`${g4f.url}${call.path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: call.body, dispatcher: agent }).then((answer) => {
        let markFirst: () => void = () => undefined;
        const firstByte = new Promise<void>((resolve) => {
          markFirst = resolve;
        });
        const done = (async () => {
          let text = '';
          for await (const piece of answer.body) {
            markFirst();
            text += String(piece);
          }
          markFirst();
          return answer.statusCode === 200 && text.includes('data: [DONE]');
        })();
        return { firstByte, done };
      });
    // Warm-up: a few streams, so that idle RSS is that of a server that has served.
    for (const stream of await Promise.all(Array.from({ length: 20 }, send))) await stream.done;
    const idle = sampleProcess(g4f.pid).rssBytes;
    log(`streams: idle RSS ${mib(idle)}; opening ${count} streams`);
    let peak = idle;
    const sampler = setInterval(() => {
      peak = Math.max(peak, sampleProcess(g4f.pid).rssBytes);
    }, 100);
    const opened = performance.now();
    const streams = await Promise.all(Array.from({ length: count }, send));
    await Promise.all(streams.map((stream) => stream.firstByte));
    const allOpen = (performance.now() - opened) / 1000;
    const open = sampleProcess(g4f.pid).rssBytes;
    log(`streams: ${count} open after ${allOpen.toFixed(1)} s, RSS ${mib(open)}`);
    const results = await Promise.all(streams.map((stream) => stream.done));
    clearInterval(sampler);
    const complete = results.filter(Boolean).length;
    const text = [
      `# ${count} slow streams open at once`,
      '',
      `Run ${new Date().toISOString()}, Node ${process.version}, \`npm run bench -- --only streams\`: ${count} streamed chat completions opened at`,
      'once against g4f serve (one process, Node\'s default heap); the upstream writes a frame every 500 ms, so each stream stays open',
      'about 11 s. RSS of the serving process idle (after 20 warm-up streams), once every stream has its first byte, and at its highest.',
      '',
      '| streams | RSS idle | RSS with all open | per stream | peak RSS while open | complete answers |',
      '| ---: | ---: | ---: | ---: | ---: | ---: |',
      `| ${count} | ${mib(idle)} | ${mib(open)} | ${((open - idle) / count / 1024).toFixed(1)} KiB | ${mib(peak)} (${((peak - idle) / count / 1024).toFixed(1)} KiB per stream) | ${complete} |`,
      '',
    ].join('\n');
    write('streams.md', text);
    return text;
  } finally {
    await agent.close();
    await stopAllChildren();
  }
}
