/**
 * Memory of `g4f serve` (bench/serve-target.ts, one process, Node's default heap) against the bench
 * upstream:
 *
 * - soak (`npm run bench -- --only soak [--minutes 5]`): streamed chat completions at 50
 *   connections for the whole time, in 30-second slices; the RSS of the serving process sampled
 *   every second. RSS is flat when the last minute's median is within 10% of the first minute's
 *   (the first minute includes warm-up). Also its peak (VmHWM) under that load.
 * - streams (`npm run bench -- --only streams [--streams 1000]`): that many streamed requests
 *   open at once, each slow (the upstream writes a frame every 2 s); the RSS of the serving process
 *   with all of them held, minus its RSS idle, per stream.
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
        rows.push(
          `| ${elapsed.toFixed(0)} | ${load.requestsPerSecond.toFixed(0)} | ${mib(percentile(recent, 0.5))} | ${mib(Math.max(...recent))} | ${load.failures} |`,
        );
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

/** g4f keeps at most this many connections per upstream origin (src/core/http.ts); more requests wait in its queue. */
const UPSTREAM_CONNECTIONS = 256;

export async function runStreamsBench(options: StreamsOptions = {}): Promise<string> {
  const count = options.streams ?? 1000;
  const log = options.log ?? (() => undefined);
  const agent = new Agent({ connections: count + 10, keepAliveTimeout: 30_000, headersTimeout: 120_000, bodyTimeout: 120_000 });
  const abort = new AbortController();
  try {
    await compileChildScripts();
    // A frame every 2 s: a stream stays open about 44 s, longer than the measurement.
    const upstream = await startChild({ name: 'upstream slow', args: [compiledScript('upstream')], env: { UPSTREAM_FRAME_DELAY_MS: '2000' } });
    const g4f = await startChild({ name: 'g4f serve', args: [compiledScript('serve-target')], env: { UPSTREAM_URL: upstream.url } });
    const call = callOf('chat', true);
    // Streams that have had body bytes and have not ended.
    let flowing = 0;
    const send = async (signal?: AbortSignal): Promise<boolean> => {
      const answer = await request(`${g4f.url}${call.path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: call.body,
        dispatcher: agent,
        ...(signal === undefined ? {} : { signal }),
      });
      let text = '';
      let first = true;
      try {
        for await (const piece of answer.body) {
          if (first) {
            first = false;
            flowing++;
          }
          text += String(piece);
        }
      } finally {
        if (!first) flowing--;
      }
      return answer.statusCode === 200 && text.includes('data: [DONE]');
    };
    // Warm-up: a few whole streams, so that idle RSS is that of a server that has served.
    const warm = await Promise.all(Array.from({ length: 10 }, () => send()));
    if (!warm.every(Boolean)) throw new Error('a warm-up stream did not complete');
    const idle = sampleProcess(g4f.pid).rssBytes;
    log(`streams: idle RSS ${mib(idle)}; opening ${count} streams`);
    const streams = Array.from({ length: count }, () => send(abort.signal).catch(() => false));
    const relaying = Math.min(count, UPSTREAM_CONNECTIONS);
    const deadline = performance.now() + 60_000;
    while (flowing < relaying && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    // Every request is inside the server now: `relaying` of them streaming, the rest queued for an upstream connection.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const held = sampleProcess(g4f.pid).rssBytes;
    const flowingThen = flowing;
    log(`streams: ${count} held, ${flowingThen} relaying, RSS ${mib(held)}`);
    abort.abort();
    await Promise.all(streams);
    const text = [
      `# ${count} slow streams open at once`,
      '',
      `Run ${new Date().toISOString()}, Node ${process.version}, \`npm run bench -- --only streams${count === 1000 ? '' : ` --streams ${count}`}\`: ${count} streamed chat`,
      "completions sent at once to g4f serve (one process, Node's default heap); the upstream writes a frame every 2 s, so every",
      'stream is still open when measured. g4f keeps at most 256 connections per upstream origin (src/core/http.ts): past that,',
      'requests wait in its queue (their client connections open, no upstream connection yet). RSS of the serving process idle (after',
      '10 warm-up streams) and with all of them held, 2 s after the most that can relay were relaying.',
      '',
      '| streams held | of them relaying | RSS idle | RSS with all held | per stream |',
      '| ---: | ---: | ---: | ---: | ---: |',
      `| ${count} | ${flowingThen} | ${mib(idle)} | ${mib(held)} | ${((held - idle) / count / 1024).toFixed(1)} KiB |`,
      '',
    ].join('\n');
    write(count === 1000 ? 'streams.md' : `streams-${count}.md`, text);
    return text;
  } finally {
    abort.abort();
    await agent.destroy();
    await stopAllChildren();
  }
}
