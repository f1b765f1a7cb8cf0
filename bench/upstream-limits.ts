/**
 * Memory of `g4f serve` while an upstream sends far more than any answer (300 MB): a non-streamed
 * JSON body, words without end streamed and into a non-streamed call, one SSE line without end.
 * The server must refuse each at its limit (settings `limits`, defaults in src/core/settings.ts),
 * cut the upstream, keep its memory bounded and go on answering. And replies just under the body
 * and the answer limits, which must be answered: the defaults fit the server's heap.
 *
 * `g4f serve` as built (bin/g4f.js, dist/), with Node's default heap (G4F_BENCH_NODE_ARGS adds
 * flags), its config routing each case's model to one OpenAI-compatible provider:
 * an upstream in this process that writes lazily, with backpressure, and counts what it could send.
 * Each case runs on a fresh server; its peak RSS is the process's VmHWM, reset before the request
 * (`/proc/<pid>/clear_refs`) and sampled while it runs, so a server that dies still has a figure.
 *
 * Needs the build (`npm run build`). Run alone: `node --import tsx bench/upstream-limits.ts`, or
 * `npm run bench -- --only upstream`; writes bench/results/upstream-limits.md.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_LIMITS } from '../src/core/settings.js';
import { alive, startServe, stopServe, type Serve } from './serve-process.js';

const ROOT = resolve(import.meta.dirname, '..');
const MIB = 1024 * 1024;
const SENT_BYTES = 300 * 1000 * 1000;
const PIECE_BYTES = 64 * 1024;

interface Case {
  name: string;
  /** The model routed to the upstream; it names the upstream's behaviour. */
  model: string;
  stream: boolean;
  /** What the server must answer: a status, and for a stream that started, that it ends with an error event. */
  expect: { status: number; code?: string; streamError?: boolean };
}

const CASES: readonly Case[] = [
  { name: '300 MB JSON body, not streamed', model: 'json', stream: false, expect: { status: 502, code: 'upstream_response_too_large' } },
  { name: '300 MB of SSE words, streamed', model: 'words', stream: true, expect: { status: 200, streamError: true } },
  { name: '300 MB of SSE words to a non-streamed call', model: 'words', stream: false, expect: { status: 502, code: 'upstream_response_too_large' } },
  { name: 'one SSE line of 300 MB, streamed', model: 'line', stream: true, expect: { status: 502, code: 'upstream_response_too_large' } },
  { name: 'a JSON body 1 MiB under the body limit (text in \\u escapes)', model: 'json-under', stream: false, expect: { status: 200 } },
  {
    name: 'an answer of two-byte characters 100,000 under the answer limit, in SSE to a non-streamed call, no usage (counted here)',
    model: 'words-under',
    stream: false,
    expect: { status: 200 },
  },
];

export interface UpstreamLimitsRow {
  name: string;
  status: number;
  /** The error code answered (body or last stream event), when there was one. */
  code: string;
  /** Bytes the upstream could send before the server cut it (or all of them). */
  upstreamSentBytes: number;
  upstreamCut: boolean;
  /** Bytes of the server's reply to the client. */
  replyBytes: number;
  elapsedMs: number;
  peakRssBytes: number;
  /** The server answered /health afterwards. */
  alive: boolean;
  ok: boolean;
}

export interface UpstreamLimitsResult {
  nodeArgs: string[];
  idleRssBytes: number;
  rows: UpstreamLimitsRow[];
  peakRssBytes: number;
  ok: boolean;
}

// The upstream: one behaviour per model, each writing lazily.

const USAGE = '"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}';
const JSON_HEAD = '{"id":"x","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"';
const JSON_TAIL = `"},"finish_reason":"stop"}],${USAGE}}`;
const SSE_END = `data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],${USAGE}}\n\ndata: [DONE]\n\n`;
const WORDS = 'lorem ipsum dolor sit amet consectetur adipiscing elit '.repeat(18);
const WORDS_EVENT = `data: {"choices":[{"index":0,"delta":{"content":"${WORDS}"},"finish_reason":null}]}\n\n`;
/** Text outside Latin-1, which V8 keeps at two bytes per character: the most memory an answer of its length takes. */
const WIDE_WORDS = 'слово '.repeat(166);
const WIDE_EVENT = `data: {"choices":[{"index":0,"delta":{"content":"${WIDE_WORDS}"},"finish_reason":null}]}\n\n`;
/** Whole events up to 100,000 characters under the default answer limit. */
const UNDER_ANSWER_LIMIT_BYTES = Math.floor((DEFAULT_LIMITS.answerChars - 100_000) / WIDE_WORDS.length) * Buffer.byteLength(WIDE_EVENT);
/** Two-byte text written as JSON escapes: six bytes of body per character, so the body, not the answer, is at its limit. */
const ESCAPED_WORDS = '\\u0441\\u043b\\u043e\\u0432\\u043e ';

function repeated(text: string, bytes: number): Buffer {
  return Buffer.from(text.repeat(Math.max(1, Math.floor(bytes / text.length))));
}

interface Exchange {
  sent: number;
  ended: Promise<boolean>;
}

function writeLazily(response: ServerResponse, exchange: Exchange, head: string, piece: Buffer, total: number, tail: string): void {
  const step = (): void => {
    while (exchange.sent < total) {
      if (response.destroyed) return;
      exchange.sent += piece.length;
      if (!response.write(piece)) {
        response.once('drain', step);
        return;
      }
    }
    exchange.sent += Buffer.byteLength(tail);
    response.end(tail);
  };
  exchange.sent += Buffer.byteLength(head);
  response.write(head);
  step();
}

function reply(model: string, response: ServerResponse, exchange: Exchange): void {
  switch (model) {
    case 'json':
      response.writeHead(200, { 'content-type': 'application/json' });
      writeLazily(response, exchange, JSON_HEAD, repeated('lorem ipsum ', PIECE_BYTES), SENT_BYTES, JSON_TAIL);
      return;
    case 'json-under':
      response.writeHead(200, { 'content-type': 'application/json' });
      writeLazily(response, exchange, JSON_HEAD, repeated(ESCAPED_WORDS, PIECE_BYTES), DEFAULT_LIMITS.bodyBytes - MIB, JSON_TAIL);
      return;
    case 'words':
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      writeLazily(response, exchange, '', repeated(WORDS_EVENT, PIECE_BYTES), SENT_BYTES, SSE_END);
      return;
    case 'words-under':
      // Whole events, one per write, so the answer stays under the limit; no usage, so the server counts it.
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      writeLazily(response, exchange, '', Buffer.from(WIDE_EVENT), UNDER_ANSWER_LIMIT_BYTES, 'data: [DONE]\n\n');
      return;
    case 'line':
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      writeLazily(
        response,
        exchange,
        'data: {"choices":[{"index":0,"delta":{"content":"',
        repeated('lorem ipsum ', PIECE_BYTES),
        SENT_BYTES,
        `"}}]}\n\n${SSE_END}`,
      );
      return;
    default:
      response.writeHead(404).end();
  }
}

interface Upstream {
  url: string;
  last(): Exchange | undefined;
  close(): Promise<void>;
}

async function startUpstream(): Promise<Upstream> {
  let last: Exchange | undefined;
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const pieces: Buffer[] = [];
    request.on('data', (piece: Buffer) => pieces.push(piece));
    request.on('end', () => {
      const exchange: Exchange = {
        sent: 0,
        ended: new Promise((resolveEnded) => response.on('close', () => resolveEnded(!response.writableFinished))),
      };
      last = exchange;
      const { model } = JSON.parse(Buffer.concat(pieces).toString('utf8')) as { model: string };
      reply(model, response, exchange);
    });
  });
  await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    last: () => last,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolveClose) => server.close(() => resolveClose()));
    },
  };
}

// The server: g4f serve as the command runs it.

/** Extra node flags for `g4f serve` from G4F_BENCH_NODE_ARGS (none by default: it runs with Node's defaults). */
function serveNodeArgs(): string[] {
  return (process.env.G4F_BENCH_NODE_ARGS ?? '').split(/\s+/).filter((flag) => flag !== '');
}

function kib(pid: number, key: string): number {
  try {
    const match = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match === null ? 0 : Number(match[1]) * 1024;
  } catch {
    return 0;
  }
}

function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** The reply's length, and its error code: the body's, or a stream's last event's. Only the tail is kept. */
async function readReply(response: Response): Promise<{ bytes: number; code: string; streamError: boolean }> {
  let bytes = 0;
  let tail = '';
  const decoder = new TextDecoder();
  const reader = response.body?.getReader();
  for (;;) {
    const read = await reader?.read();
    if (read === undefined || read.done) break;
    bytes += read.value.length;
    tail = (tail + decoder.decode(read.value, { stream: true })).slice(-4_096);
  }
  const lastEvent = tail.trimEnd().split('\n\n').at(-1) ?? '';
  const json = lastEvent.startsWith('data: ') ? lastEvent.slice('data: '.length) : tail;
  let code = '';
  try {
    code = String((JSON.parse(json) as { error?: { code?: unknown } }).error?.code ?? '');
  } catch {
    // A body that is not one JSON object (a stream cut short).
  }
  return { bytes, code, streamError: lastEvent.startsWith('data: {"error"') };
}

async function runCase(serve: Serve, upstream: Upstream, entry: Case): Promise<UpstreamLimitsRow> {
  const pid = serve.process.pid!;
  resetPeak(pid);
  let peakRssBytes = 0;
  const sampler = setInterval(() => {
    if (alive(serve)) peakRssBytes = Math.max(peakRssBytes, kib(pid, 'VmHWM'));
  }, 20);
  const started = performance.now();
  const row: UpstreamLimitsRow = {
    name: entry.name,
    status: 0,
    code: '',
    upstreamSentBytes: 0,
    upstreamCut: false,
    replyBytes: 0,
    elapsedMs: 0,
    peakRssBytes: 0,
    alive: false,
    ok: false,
  };
  try {
    const response = await fetch(`${serve.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: entry.model, messages: [{ role: 'user', content: 'hi' }], stream: entry.stream }),
    });
    const read = await readReply(response);
    row.status = response.status;
    row.code = read.code;
    row.replyBytes = read.bytes;
    row.elapsedMs = Math.round(performance.now() - started);
    const exchange = upstream.last();
    if (exchange !== undefined) {
      row.upstreamCut = await exchange.ended;
      row.upstreamSentBytes = exchange.sent;
    }
    peakRssBytes = Math.max(peakRssBytes, kib(pid, 'VmHWM'));
    const health = await fetch(`${serve.url}/health`);
    await health.text();
    row.alive = health.status === 200;
    row.ok =
      row.alive &&
      row.status === entry.expect.status &&
      (entry.expect.code === undefined || row.code === entry.expect.code) &&
      (entry.expect.streamError !== true || read.streamError) &&
      row.upstreamCut === (entry.expect.status !== 200 || entry.expect.streamError === true);
  } catch (error) {
    row.elapsedMs = Math.round(performance.now() - started);
    const died =
      !alive(serve) ||
      (await new Promise<boolean>((resolveExit) => {
        const timer = setTimeout(() => resolveExit(false), 10_000);
        serve.process.once('exit', () => {
          clearTimeout(timer);
          resolveExit(true);
        });
      }));
    if (!died) throw error;
    row.code = /heap out of memory/.test(serve.stderr())
      ? 'the server died: out of heap'
      : `the server died: exit ${String(serve.process.exitCode ?? serve.process.signalCode)}`;
    row.upstreamSentBytes = upstream.last()?.sent ?? 0;
  } finally {
    clearInterval(sampler);
  }
  row.peakRssBytes = peakRssBytes;
  return row;
}

export async function runUpstreamLimitsBench(options: { quick?: boolean; print?: boolean; log?: (line: string) => void } = {}): Promise<UpstreamLimitsResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(`[upstream-limits] ${line}\n`));
  const workDir = mkdtempSync(join(tmpdir(), 'g4f-upstream-limits-'));
  const upstream = await startUpstream();
  const nodeArgs = serveNodeArgs();
  const configPath = join(workDir, 'g4f.config.json');
  const models = [...new Set(CASES.map((entry) => entry.model))];
  writeFileSync(
    configPath,
    JSON.stringify({
      providers: [{ name: 'upstream', type: 'openai-compatible', baseUrl: `${upstream.url}/v1`, models }],
      retry: { attempts: 1 },
    }),
  );
  const rows: UpstreamLimitsRow[] = [];
  let idleRssBytes = 0;
  try {
    for (const entry of options.quick === true ? CASES.slice(0, 1) : CASES) {
      // A fresh server for each case: nothing of the one before in its heap.
      const serve = await startServe({ workDir, dataDir: join(workDir, 'data'), nodeArgs, env: { G4F_CONFIG: configPath } });
      try {
        await (await fetch(`${serve.url}/health`)).text();
        idleRssBytes = Math.max(idleRssBytes, kib(serve.process.pid!, 'VmRSS'));
        const row = await runCase(serve, upstream, entry);
        rows.push(row);
        log(
          `${row.name}: ${row.status} ${row.code}, upstream sent ${mib(row.upstreamSentBytes)} MiB${row.upstreamCut ? ' (cut)' : ''}, peak RSS ${mib(row.peakRssBytes)} MiB, ${row.elapsedMs} ms${row.ok ? '' : ' NOT AS EXPECTED'}`,
        );
      } finally {
        await stopServe(serve);
      }
    }
  } finally {
    await upstream.close();
    rmSync(workDir, { recursive: true, force: true });
  }
  const result: UpstreamLimitsResult = {
    nodeArgs,
    idleRssBytes,
    rows,
    peakRssBytes: Math.max(...rows.map((row) => row.peakRssBytes)),
    ok: rows.every((row) => row.ok),
  };
  if (!result.ok) process.exitCode = 1;
  const report = markdownReport(result);
  if (options.quick !== true) {
    mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
    writeFileSync(join(ROOT, 'bench', 'results', 'upstream-limits.md'), report);
    log('written to bench/results/upstream-limits.md');
  }
  if (options.print !== false) process.stdout.write(`${report}\n`);
  return result;
}

function mib(bytes: number): string {
  return (bytes / MIB).toFixed(1);
}

function markdownReport(result: UpstreamLimitsResult): string {
  const number = (value: number): string => value.toLocaleString('en-US');
  const rows = result.rows.map(
    (row) =>
      `| ${row.name} | ${row.status} | ${row.code} | ${mib(row.upstreamSentBytes)}${row.upstreamCut ? ' (cut)' : ''} | ${mib(row.replyBytes)} | ${row.elapsedMs} | ${mib(row.peakRssBytes)} | ${row.alive ? 'yes' : 'no'} |`,
  );
  return [
    '# Memory of the server under upstream replies without end',
    '',
    `\`g4f serve\` as built (\`node ${result.nodeArgs.join(' ')} bin/g4f.js serve\`), Node ${process.version}, ` +
      `${cpus().length} CPUs, ${new Date().toISOString().slice(0, 10)}; \`node --import tsx bench/upstream-limits.ts\` (or \`npm run bench -- --only upstream\`).`,
    '',
    `The default limits (src/core/settings.ts \`DEFAULT_LIMITS\`): a body read whole ${number(DEFAULT_LIMITS.bodyBytes)} bytes, one event ${number(DEFAULT_LIMITS.eventChars)} characters, ` +
      `one answer ${number(DEFAULT_LIMITS.answerChars)} characters. ` +
      'The upstream writes lazily with backpressure; "upstream sent" is what it could write before the server cut it. Each case runs on a fresh server; ' +
      'its peak RSS is its own (VmHWM reset before the request).',
    '',
    `RSS when idle: ${mib(result.idleRssBytes)} MiB. Highest peak of any case: **${mib(result.peakRssBytes)} MiB**. ` +
      (result.ok ? 'Every case was answered as expected, and /health after each.' : '**Not every case was answered as expected.**'),
    '',
    '| upstream sends | status | code | upstream sent MiB | reply MiB | ms | peak RSS MiB | /health after |',
    '|---|---:|---|---:|---:|---:|---:|---|',
    ...rows,
    '',
  ].join('\n');
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  runUpstreamLimitsBench({ quick: process.argv.includes('--quick') }).catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  });
}
