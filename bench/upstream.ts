/**
 * Child process: the upstream of the gateway benchmark. A minimal node:http server that answers
 * `POST /v1/chat/completions` with pre-rendered frames, so that its own cost is small and the same
 * for every target:
 *
 * - streamed text: a role chunk, 20 content chunks, a finish chunk and `data: [DONE]`, one write each;
 * - streamed tool call (the request has `tools`): a role chunk, the call's first delta (`index`,
 *   `id`, `type`, `function.name`), 20 argument fragments, a `tool_calls` finish chunk, `[DONE]`;
 * - not streamed: one `chat.completion` with the same 20 words.
 *
 * With `UPSTREAM_FRAME_DELAY_MS` set, a streamed answer's frames after the first are written that
 * many milliseconds apart (slow streams, for the memory of many open streams).
 *
 * Prints `{"url": "http://127.0.0.1:PORT"}` on stdout once listening; exits on SIGTERM or when stdin closes.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TOOL_ARGUMENTS, TOOL_NAME, WORDS } from './answers.js';

const head = '{"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"bench-model","choices":';
const frame = (value: unknown): Buffer => Buffer.from(`data: ${head}${JSON.stringify(value)}}\n\n`);
const choice = (delta: unknown, finish: string | null = null): unknown => [{ index: 0, delta, logprobs: null, finish_reason: finish }];
const DONE = Buffer.from('data: [DONE]\n\n');

const textFrames: Buffer[] = [
  frame(choice({ role: 'assistant', content: '' })),
  ...WORDS.map((word) => frame(choice({ content: word }))),
  frame(choice({}, 'stop')),
  DONE,
];

const fragmentLength = Math.ceil(TOOL_ARGUMENTS.length / 20);
const fragments = Array.from({ length: 20 }, (_, index) => TOOL_ARGUMENTS.slice(index * fragmentLength, (index + 1) * fragmentLength));
const toolFrames: Buffer[] = [
  frame(choice({ role: 'assistant', content: null })),
  frame(choice({ tool_calls: [{ index: 0, id: 'call_bench', type: 'function', function: { name: TOOL_NAME, arguments: '' } }] })),
  ...fragments.map((fragment) => frame(choice({ tool_calls: [{ index: 0, function: { arguments: fragment } }] }))),
  frame(choice({}, 'tool_calls')),
  DONE,
];

const completion = Buffer.from(
  JSON.stringify({
    id: 'chatcmpl-bench',
    object: 'chat.completion',
    created: 1700000000,
    model: 'bench-model',
    choices: [{ index: 0, message: { role: 'assistant', content: WORDS.join('') }, logprobs: null, finish_reason: 'stop' }],
    usage: { prompt_tokens: 1, completion_tokens: 20, total_tokens: 21 },
  }),
);

const frameDelayMs = Number(process.env.UPSTREAM_FRAME_DELAY_MS ?? 0);

/** Writes the frames apart in time; stops when the response closes. */
function writeSlowly(outgoing: ServerResponse, frames: readonly Buffer[]): void {
  let next = 0;
  const timer = setInterval(() => {
    if (outgoing.destroyed) {
      clearInterval(timer);
      return;
    }
    const piece = frames[next++];
    if (piece !== undefined) outgoing.write(piece);
    if (next >= frames.length) {
      clearInterval(timer);
      outgoing.end();
    }
  }, frameDelayMs);
  outgoing.once('close', () => clearInterval(timer));
  const first = frames[next++];
  if (first !== undefined) outgoing.write(first);
}

const STREAM_HEADERS = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' };
const JSON_HEADERS = { 'content-type': 'application/json', 'content-length': String(completion.length) };

const server = createServer({ noDelay: true, keepAliveTimeout: 30_000 }, (incoming, outgoing) => {
  const pieces: Buffer[] = [];
  incoming.on('data', (piece: Buffer) => pieces.push(piece));
  incoming.on('end', () => {
    if (incoming.method !== 'POST' || !incoming.url?.endsWith('/chat/completions')) {
      outgoing.writeHead(404).end();
      return;
    }
    let body: { stream?: unknown; tools?: unknown };
    try {
      body = JSON.parse(Buffer.concat(pieces).toString('utf8')) as typeof body;
    } catch {
      outgoing.writeHead(400).end();
      return;
    }
    if (body.stream !== true) {
      outgoing.writeHead(200, JSON_HEADERS).end(completion);
      return;
    }
    outgoing.writeHead(200, STREAM_HEADERS);
    const frames = Array.isArray(body.tools) ? toolFrames : textFrames;
    if (frameDelayMs > 0) {
      writeSlowly(outgoing, frames);
      return;
    }
    for (const piece of frames) outgoing.write(piece);
    outgoing.end();
  });
});

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}` })}\n`);
});

const stop = (): void => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
