/**
 * Load generation: autocannon for throughput and latency percentiles, and a sequential undici loop
 * (one connection, high-resolution clock) for latency and time to first byte at one connection.
 */
import { createRequire } from 'node:module';
import { Agent, request } from 'undici';
import { TOOL_ARGUMENTS, TOOL_NAME, WORDS } from './answers.js';

export interface Target {
  name: string;
  url: string;
  headers: Record<string, string>;
}

/** What a load sends: a door's path and a request body. */
export interface Call {
  path: string;
  body: string;
}

const MESSAGES = [{ role: 'user', content: 'hi' }];
const TOOLS = [
  {
    type: 'function',
    function: {
      name: TOOL_NAME,
      description: 'The weather forecast for a city',
      parameters: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer' } }, required: ['city'] },
    },
  },
];

export type Door = 'chat' | 'tools' | 'messages' | 'responses';

export function callOf(door: Door, stream: boolean): Call {
  switch (door) {
    case 'chat':
      return { path: '/v1/chat/completions', body: JSON.stringify({ model: 'bench-model', messages: MESSAGES, stream }) };
    case 'tools':
      return { path: '/v1/chat/completions', body: JSON.stringify({ model: 'bench-model', messages: MESSAGES, tools: TOOLS, stream }) };
    case 'messages':
      return { path: '/v1/messages', body: JSON.stringify({ model: 'bench-model', max_tokens: 256, messages: MESSAGES, stream }) };
    case 'responses':
      return { path: '/v1/responses', body: JSON.stringify({ model: 'bench-model', input: 'hi', store: false, stream }) };
  }
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

export async function runLoad(target: Target, call: Call, connections: number, durationSeconds: number): Promise<LoadResult> {
  const result = await autocannon({
    url: `${target.url}${call.path}`,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...target.headers },
    body: call.body,
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
  const { body } = callOf('chat', stream);
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

/** The `data:` payloads of an event stream, `[DONE]` included. */
function dataOf(text: string): string[] {
  return text
    .split(/\r?\n\r?\n/)
    .flatMap((event) =>
      event
        .split(/\r?\n/)
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).trim()),
    )
    .filter((data) => data !== '');
}

type Parsed = Record<string, unknown> & {
  type?: string;
  choices?: Array<{ delta?: Record<string, unknown>; message?: { content?: unknown }; finish_reason?: unknown }>;
};

/** What a right answer is, per door: the 20 words (or the call's arguments) in order, and the door's end. */
function check(door: Door, stream: boolean, text: string): string[] {
  const problems: string[] = [];
  const words = WORDS.join('');
  if (!stream) {
    const parsed = JSON.parse(text) as Parsed;
    if (parsed.object !== 'chat.completion') problems.push(`object ${String(parsed.object)}`);
    if (parsed.choices?.[0]?.message?.content !== words) problems.push('not the 20 words');
    return problems;
  }
  const data = dataOf(text);
  const events = data.filter((item) => item !== '[DONE]').map((item) => JSON.parse(item) as Parsed);
  if (door === 'chat' || door === 'tools') {
    if (data.at(-1) !== '[DONE]') problems.push('no [DONE] at the end');
    const deltas = events.map((event) => event.choices?.[0]?.delta ?? {});
    if (door === 'chat') {
      const contents = deltas.map((delta) => delta.content).filter((content) => typeof content === 'string' && content !== '');
      if (contents.length !== 20 || contents.join('') !== words) problems.push(`${contents.length} content chunks, expected the 20 words`);
    } else {
      const calls = deltas.flatMap((delta) =>
        Array.isArray(delta.tool_calls) ? (delta.tool_calls as Array<{ id?: unknown; function?: { name?: unknown; arguments?: unknown } }>) : [],
      );
      const names = calls.map((call) => call.function?.name).filter((name) => name !== undefined);
      const args = calls.map((call) => call.function?.arguments ?? '').join('');
      if (names.length !== 1 || names[0] !== TOOL_NAME) problems.push(`tool name given ${names.length} times`);
      if (args !== TOOL_ARGUMENTS) problems.push('tool arguments differ');
      if (!events.some((event) => event.choices?.[0]?.finish_reason === 'tool_calls')) problems.push('no tool_calls finish');
    }
  } else if (door === 'messages') {
    const deltas = events.filter((event) => event.type === 'content_block_delta').map((event) => (event.delta as { text?: string }).text ?? '');
    if (deltas.join('') !== words) problems.push('text deltas are not the 20 words');
    if (events.at(-1)?.type !== 'message_stop') problems.push('no message_stop at the end');
  } else {
    const deltas = events.filter((event) => event.type === 'response.output_text.delta').map((event) => String(event.delta));
    if (deltas.join('') !== words) problems.push('output_text deltas are not the 20 words');
    if (events.at(-1)?.type !== 'response.completed') problems.push('no response.completed at the end');
  }
  return problems;
}

/** One request of the door: a right answer, or what is wrong with it. */
export async function verifyTarget(target: Target, door: Door, stream: boolean): Promise<Verification> {
  const headers = { 'content-type': 'application/json', ...target.headers };
  const call = callOf(door, stream);
  let problems: string[];
  try {
    const answer = await request(`${target.url}${call.path}`, { method: 'POST', headers, body: call.body, headersTimeout: 10_000, bodyTimeout: 10_000 });
    const text = await answer.body.text();
    problems = answer.statusCode === 200 ? check(door, stream, text) : [`status ${answer.statusCode}: ${text.slice(0, 200)}`];
  } catch (error) {
    problems = [error instanceof Error ? error.message : String(error)];
  }
  return problems.length === 0 ? { ok: true, detail: 'ok' } : { ok: false, detail: problems.join('; ') };
}
