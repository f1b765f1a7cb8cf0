/**
 * Load generation: autocannon for throughput and latency percentiles, and a sequential undici loop
 * (one connection, high-resolution clock) for latency and time to first byte at one connection.
 */
import { createRequire } from 'node:module';
import { Agent, request } from 'undici';

export interface Target {
  name: string;
  url: string;
  headers: Record<string, string>;
}

export function chatBody(stream: boolean): string {
  return JSON.stringify({ model: 'bench-model', messages: [{ role: 'user', content: 'hi' }], stream });
}

/** The part of autocannon's result that the bench reads. */
interface AutocannonResult {
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  latency: { p50: number; p99: number; mean: number };
  requests: { average: number; total: number };
}

interface AutocannonOptions {
  url: string;
  method: 'POST';
  headers: Record<string, string>;
  body: string;
  connections: number;
  duration: number;
  pipelining: number;
  timeout: number;
}

type Autocannon = (options: AutocannonOptions) => Promise<AutocannonResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

export interface LoadResult {
  requests: number;
  durationSeconds: number;
  requestsPerSecond: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  /** Non-2xx answers, errors and timeouts. */
  failures: number;
}

export async function runLoad(target: Target, stream: boolean, connections: number, durationSeconds: number): Promise<LoadResult> {
  const result = await autocannon({
    url: `${target.url}/v1/chat/completions`,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...target.headers },
    body: chatBody(stream),
    connections,
    duration: durationSeconds,
    pipelining: 1,
    timeout: 10,
  });
  const seconds = result.duration > 0 ? result.duration : durationSeconds;
  return {
    requests: result.requests.total,
    durationSeconds: seconds,
    requestsPerSecond: result.requests.total / seconds,
    latencyP50Ms: result.latency.p50,
    latencyP99Ms: result.latency.p99,
    failures: result.non2xx + result.errors + result.timeouts,
  };
}

export interface SequentialResult {
  /** Send to last body byte, milliseconds. */
  latencies: number[];
  /** Send to first body byte, milliseconds. */
  firstBytes: number[];
  failures: number;
}

/** `count` requests one after another over one kept-alive connection. */
export async function runSequential(target: Target, stream: boolean, count: number): Promise<SequentialResult> {
  const agent = new Agent({ connections: 1, keepAliveTimeout: 30_000 });
  const body = chatBody(stream);
  const headers = { 'content-type': 'application/json', ...target.headers };
  const latencies: number[] = [];
  const firstBytes: number[] = [];
  let failures = 0;
  try {
    for (let index = 0; index < count; index += 1) {
      const started = process.hrtime.bigint();
      let first: bigint | undefined;
      try {
        const answer = await request(`${target.url}/v1/chat/completions`, {
          method: 'POST',
          headers,
          body,
          dispatcher: agent,
          headersTimeout: 10_000,
          bodyTimeout: 10_000,
        });
        for await (const piece of answer.body) {
          if (first === undefined && (piece as Buffer).length > 0) first = process.hrtime.bigint();
        }
        if (answer.statusCode < 200 || answer.statusCode >= 300) failures += 1;
      } catch {
        failures += 1;
        continue;
      }
      const ended = process.hrtime.bigint();
      latencies.push(Number(ended - started) / 1e6);
      firstBytes.push(Number((first ?? ended) - started) / 1e6);
    }
  } finally {
    await agent.close();
  }
  return { latencies, firstBytes, failures };
}

export function percentile(values: readonly number[], fraction: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

export interface Verification {
  ok: boolean;
  detail: string;
}

/** One streamed and one plain request: 20 content chunks and [DONE]; a chat.completion. */
export async function verifyTarget(target: Target): Promise<Verification> {
  const headers = { 'content-type': 'application/json', ...target.headers };
  const problems: string[] = [];
  try {
    const plain = await request(`${target.url}/v1/chat/completions`, { method: 'POST', headers, body: chatBody(false), headersTimeout: 10_000, bodyTimeout: 10_000 });
    const text = await plain.body.text();
    const parsed = JSON.parse(text) as { object?: unknown; choices?: Array<{ message?: { content?: unknown } }> };
    if (plain.statusCode !== 200) problems.push(`plain: status ${plain.statusCode}`);
    if (parsed.object !== 'chat.completion') problems.push(`plain: object ${String(parsed.object)}`);
    if (typeof parsed.choices?.[0]?.message?.content !== 'string') problems.push('plain: no message content');

    const streamed = await request(`${target.url}/v1/chat/completions`, { method: 'POST', headers, body: chatBody(true), headersTimeout: 10_000, bodyTimeout: 10_000 });
    const events = (await streamed.body.text()).split(/\r?\n\r?\n/).map((event) => event.trim()).filter((event) => event.startsWith('data:'));
    if (streamed.statusCode !== 200) problems.push(`stream: status ${streamed.statusCode}`);
    const contentChunks = events.filter((event) => {
      if (event === 'data: [DONE]') return false;
      const chunk = JSON.parse(event.slice(5)) as { choices?: Array<{ delta?: { content?: unknown } }> };
      const content = chunk.choices?.[0]?.delta?.content;
      return typeof content === 'string' && content !== '';
    }).length;
    if (contentChunks !== 20) problems.push(`stream: ${contentChunks} content chunks, expected 20`);
    if (events.at(-1) !== 'data: [DONE]') problems.push('stream: no [DONE] at the end');
  } catch (error) {
    problems.push(error instanceof Error ? error.message : String(error));
  }
  return problems.length === 0 ? { ok: true, detail: 'ok' } : { ok: false, detail: problems.join('; ') };
}
