/**
 * Upstreams whose replies have no end: a huge JSON body, an SSE line that never ends, words without
 * end (streamed and into a non-streamed call), an answer streamed into the chat page. Each is cut
 * at its limit with `upstream_response_too_large`, the upstream sees its connection closed, and
 * the server goes on answering. Real HTTP upstreams on 127.0.0.1 that write lazily, with
 * backpressure, so this test never holds their bodies itself.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig, settingsFromConfig } from '../src/config.js';
import { isG4FError } from '../src/core/errors.js';
import { createRuntime } from '../src/core/runtime.js';
import { DEFAULT_LIMITS, resolveLimits } from '../src/core/settings.js';
import { createEventStreamDecoder, isStrayLine } from '../src/core/sse.js';
import { createOpenAICompatibleProvider } from '../src/providers/index.js';
import { createRouter } from '../src/routing/index.js';
import { createCollectingLogger, startServer, type RunningServer } from '../src/server/index.js';
import { CONVERSATION_LIMITS } from '../src/store/index.js';
import { postChat, send, sseData, userMessage, type RawResponse } from './server-fixture.js';

const KIB = 1024;
/** Far more than the kernel's socket buffers hold: an upstream that finished writing was read to its end. */
const HUGE_BYTES = 64 * 1024 * KIB;
const LIMITS = { bodyBytes: 64 * KIB, eventChars: 16 * KIB, answerChars: 64 * KIB };

/** How one upstream exchange ended: its whole body written, or its connection closed before. */
type Ending = 'finished' | 'cut';

interface Exchange {
  path: string;
  ended: Promise<Ending>;
}

interface Upstream {
  url: string;
  exchanges: Exchange[];
  /** The exchanges of one behaviour, in order. */
  of(behaviour: string): Exchange[];
  close(): Promise<void>;
}

const delta = (text: string): string => `data: {"choices":[{"index":0,"delta":{"content":${JSON.stringify(text)}},"finish_reason":null}]}\n\n`;
// Usage is given, so that no answer is counted here: only the reply's size is under test.
const USAGE = '"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}';
const SSE_END = `data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],${USAGE}}\n\ndata: [DONE]\n\n`;
const JSON_HEAD = '{"id":"x","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"';
const JSON_TAIL = `"},"finish_reason":"stop"}],${USAGE}}`;

/** `piece` repeated up to about `total` bytes, each write only when the socket drained, then `tail`. */
function writeLazily(response: ServerResponse, head: string, piece: Buffer, total: number, tail: string): void {
  let sent = 0;
  const step = (): void => {
    while (sent < total) {
      if (response.destroyed) return;
      sent += piece.length;
      if (!response.write(piece)) {
        response.once('drain', step);
        return;
      }
    }
    response.end(tail);
  };
  response.write(head);
  step();
}

function repeated(text: string, bytes: number): Buffer {
  return Buffer.from(text.repeat(Math.ceil(bytes / text.length)));
}

/** Replies by the first path segment (the provider's base URL ends with it). */
const behaviours: Record<string, (response: ServerResponse) => void> = {
  'huge-json': (response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    writeLazily(response, JSON_HEAD, repeated('a', 64 * KIB), HUGE_BYTES, JSON_TAIL);
  },
  'declared-json': (response) => {
    const piece = repeated('a', 64 * KIB);
    const length = Buffer.byteLength(JSON_HEAD) + HUGE_BYTES + Buffer.byteLength(JSON_TAIL);
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': length });
    writeLazily(response, JSON_HEAD, piece, HUGE_BYTES, JSON_TAIL);
  },
  'endless-line': (response) => {
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    writeLazily(response, 'data: {"choices":[{"index":0,"delta":{"content":"', repeated('a', 64 * KIB), HUGE_BYTES, `"},"finish_reason":null}]}\n\n${SSE_END}`);
  },
  'text-then-endless-line': (response) => {
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    writeLazily(
      response,
      `${delta('Hello')}data: {"choices":[{"index":0,"delta":{"content":"`,
      repeated('a', 64 * KIB),
      HUGE_BYTES,
      `"},"finish_reason":null}]}\n\n${SSE_END}`,
    );
  },
  words: (response) => {
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    writeLazily(response, '', repeated(delta('word '), 64 * KIB), HUGE_BYTES, SSE_END);
  },
  good: (response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(`${JSON_HEAD}fine${JSON_TAIL}`);
  },
};

async function startUpstream(): Promise<Upstream> {
  const exchanges: Exchange[] = [];
  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const path = request.url ?? '/';
    const ended = new Promise<Ending>((resolve) => {
      response.on('close', () => resolve(response.writableFinished ? 'finished' : 'cut'));
    });
    exchanges.push({ path, ended });
    request.resume();
    request.on('end', () => {
      const reply = behaviours[path.split('/')[1] ?? ''];
      if (reply === undefined) {
        response.writeHead(404).end();
        return;
      }
      reply(response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    exchanges,
    of: (behaviour) => exchanges.filter((exchange) => exchange.path.startsWith(`/${behaviour}/`)),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The one exchange of `behaviour` since `before` of them: how it ended. */
async function endingOf(upstream: Upstream, behaviour: string, before: number): Promise<Ending> {
  const exchanges = upstream.of(behaviour);
  assert.equal(exchanges.length, before + 1, `one request reached ${behaviour}`);
  return (exchanges[before] as Exchange).ended;
}

interface ErrorBody {
  error: { message: string; type: string; code: string | null };
}

function errorOf(response: RawResponse): ErrorBody['error'] {
  return (JSON.parse(response.body) as ErrorBody).error;
}

/** The last event of a stream that was cut: an error, and no `[DONE]`. */
function streamError(response: RawResponse): ErrorBody['error'] {
  assert.equal(response.status, 200);
  const events = sseData(response.body);
  assert.ok(!events.includes('[DONE]'), 'a cut stream has no [DONE]');
  const last = JSON.parse(events.at(-1) ?? '{}') as Partial<ErrorBody>;
  assert.ok(last.error !== undefined, 'the stream ends with an error event');
  return last.error;
}

const MODELS: Record<string, string[]> = {
  'm-huge-json': ['huge-json'],
  'm-declared-json': ['declared-json'],
  'm-endless-line': ['endless-line'],
  'm-text-then-endless-line': ['text-then-endless-line'],
  'm-words': ['words'],
  'm-fallback-json': ['huge-json', 'good'],
  'm-fallback-line': ['endless-line', 'good'],
};

describe('upstream replies past their limits', () => {
  let upstream: Upstream;
  let server: RunningServer;
  let dataDir: string;
  /** The server's settings: tight limits for every provider. */
  const runtime = createRuntime({ limits: LIMITS });

  before(async () => {
    upstream = await startUpstream();
    const providers = Object.keys(behaviours).map((name) =>
      createOpenAICompatibleProvider({ name, url: `${upstream.url}/${name}`, models: [`m-${name}`], supportsStream: true }),
    );
    const router = createRouter({ runtime, providers, models: MODELS, retry: { attempts: 1 }, circuit: { failureThreshold: 1_000 } });
    dataDir = mkdtempSync(join(tmpdir(), 'g4f-limits-'));
    server = await startServer({ port: 0, router, logger: createCollectingLogger(), dataDir });
  });

  after(async () => {
    await server.close(2_000);
    await upstream.close();
    await runtime.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function assertServerUp(): Promise<void> {
    const health = await send(server.url, { path: '/health' });
    assert.equal(health.status, 200);
  }

  test('a non-streamed JSON body past bodyBytes, sent or announced: 502, the upstream cut, the server up', async () => {
    for (const behaviour of ['huge-json', 'declared-json']) {
      const before = upstream.of(behaviour).length;
      const response = await postChat(server.url, { model: `m-${behaviour}`, messages: userMessage('hi') });
      assert.equal(response.status, 502, behaviour);
      const error = errorOf(response);
      assert.equal(error.code, 'upstream_response_too_large');
      assert.equal(error.type, 'upstream_error');
      assert.match(error.message, /larger than 65,536 bytes/);
      assert.equal(await endingOf(upstream, behaviour, before), 'cut', `${behaviour}: the upstream request was aborted`);
      await assertServerUp();
    }
  });

  test('an SSE line that never ends, before any text: 502, the upstream cut', async () => {
    const before = upstream.of('endless-line').length;
    const response = await postChat(server.url, { model: 'm-endless-line', messages: userMessage('hi'), stream: true });
    assert.equal(response.status, 502);
    const error = errorOf(response);
    assert.equal(error.code, 'upstream_response_too_large');
    assert.match(error.message, /longer than 16,384 characters/);
    assert.equal(await endingOf(upstream, 'endless-line', before), 'cut');
    await assertServerUp();
  });

  test('an SSE line that never ends after text: the stream ends with an error event, the upstream cut', async () => {
    const before = upstream.of('text-then-endless-line').length;
    const response = await postChat(server.url, { model: 'm-text-then-endless-line', messages: userMessage('hi'), stream: true });
    assert.match(sseData(response.body)[0] ?? '', /"content":"Hello"/);
    const error = streamError(response);
    assert.equal(error.code, 'stream_interrupted');
    assert.match(error.message, /longer than 16,384 characters/);
    assert.equal(await endingOf(upstream, 'text-then-endless-line', before), 'cut');
    await assertServerUp();
  });

  test('words without end: a stream ends with an error event at answerChars; a non-streamed call gets 502', async () => {
    let before = upstream.of('words').length;
    const streamed = await postChat(server.url, { model: 'm-words', messages: userMessage('hi'), stream: true });
    const error = streamError(streamed);
    assert.equal(error.code, 'stream_interrupted');
    assert.match(error.message, /an answer longer than 65,536 characters/);
    let relayed = 0;
    for (const event of sseData(streamed.body).slice(0, -1)) {
      const chunk = JSON.parse(event) as { choices: Array<{ delta: { content?: string } }> };
      relayed += chunk.choices[0]?.delta.content?.length ?? 0;
    }
    assert.ok(relayed > 0 && relayed <= LIMITS.answerChars, `${relayed} characters relayed, at most the limit`);
    assert.equal(await endingOf(upstream, 'words', before), 'cut');

    // SSE to a non-streamed call: the answer gathered whole is bounded the same way.
    before = upstream.of('words').length;
    const whole = await postChat(server.url, { model: 'm-words', messages: userMessage('hi') });
    assert.equal(whole.status, 502);
    assert.equal(errorOf(whole).code, 'upstream_response_too_large');
    assert.equal(await endingOf(upstream, 'words', before), 'cut');
    await assertServerUp();
  });

  test('a reply too large counts against its provider, and the next provider answers while nothing was sent', async () => {
    const failuresBefore = server.router.health('huge-json').consecutiveFailures;
    const whole = await postChat(server.url, { model: 'm-fallback-json', messages: userMessage('hi') });
    assert.equal(whole.status, 200);
    assert.equal(whole.headers['x-g4f-provider'], 'good');
    const health = server.router.health('huge-json');
    assert.equal(health.consecutiveFailures, failuresBefore + 1);
    assert.equal(health.lastError?.code, 'upstream_response_too_large');

    const streamed = await postChat(server.url, { model: 'm-fallback-line', messages: userMessage('hi'), stream: true });
    assert.equal(streamed.status, 200);
    assert.equal(streamed.headers['x-g4f-provider'], 'good');
    assert.equal(sseData(streamed.body).at(-1), '[DONE]');
    assert.equal(server.router.health('endless-line').lastError?.code, 'upstream_response_too_large');
  });

  test('the chat page: an answer without end is cut where a stored message ends, stored as interrupted, the upstream cut', async (context) => {
    // The provider's own limit is far above what one message of a conversation may hold.
    runtime.configureProvider('words', { limits: { answerChars: 10 * CONVERSATION_LIMITS.messageChars } });
    context.after(() => runtime.configureProvider('words', { limits: {} }));
    const created = await send(server.url, { method: 'POST', path: '/api/conversations', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(created.status, 201);
    const { id } = JSON.parse(created.body) as { id: string };
    const before = upstream.of('words').length;
    const answered = await send(server.url, {
      method: 'POST',
      path: `/api/conversations/${id}/messages`,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ content: 'hi', model: 'm-words' }),
    });
    assert.equal(answered.status, 200);
    const events = answered.body.split('\n\n').filter((block) => block.startsWith('event: '));
    const last = events.at(-1) ?? '';
    assert.ok(last.startsWith('event: error\n'), `the answer ends with an error event, not ${last.slice(0, 40)}`);
    assert.match(last, new RegExp(`an answer longer than ${CONVERSATION_LIMITS.messageChars.toLocaleString('en-US')} characters`));
    assert.equal(await endingOf(upstream, 'words', before), 'cut');

    const stored = JSON.parse((await send(server.url, { path: `/api/conversations/${id}` })).body) as {
      messages: Array<{ role: string; content: string; status: string }>;
    };
    const answer = stored.messages.at(-1);
    assert.equal(answer?.role, 'assistant');
    assert.equal(answer?.status, 'interrupted');
    assert.ok(answer.content.length > 0 && answer.content.length <= CONVERSATION_LIMITS.messageChars, `${answer.content.length} characters stored`);
    assert.equal(server.router.health('words').lastError?.code, 'upstream_response_too_large');
    await assertServerUp();
  });

  test('a client cannot set the limits of its call', async () => {
    const response = await postChat(server.url, { model: 'm-words', messages: userMessage('hi'), limits: { answerChars: 1e12 } });
    assert.equal(response.status, 400);
    assert.equal((JSON.parse(response.body) as { error: { param: string } }).error.param, 'limits');
  });
});

describe('the SSE decoder bounds one event', () => {
  const tooLarge = (error: unknown): boolean => isG4FError(error, 'UpstreamResponseTooLargeError') && error.part === 'event' && error.provider === 'p';

  test('events completed before an overlong one are given, then it fails; so does the end', () => {
    const decoder = createEventStreamDecoder({ maxEventChars: 100, provider: 'p' });
    const items = decoder.push(Buffer.from(`data: a\n\ndata: ${'x'.repeat(200)}`));
    assert.deepEqual(
      items.map((item) => (isStrayLine(item) ? item.stray : item.data)),
      ['a'],
    );
    assert.throws(() => decoder.push(Buffer.from('x')), tooLarge);
    assert.throws(() => decoder.end(), tooLarge);
  });

  test('a line without end, an event of many data lines, a comment without end: each fails past the limit', () => {
    const cases = [
      Array.from({ length: 30 }, () => Buffer.from('xxxxxxxxxx')),
      Array.from({ length: 30 }, () => Buffer.from('data: xxxxxxxxxx\n')),
      [Buffer.from(':'), ...Array.from({ length: 30 }, () => Buffer.from('keep-alive'))],
    ];
    for (const reads of cases) {
      const decoder = createEventStreamDecoder({ maxEventChars: 100, provider: 'p' });
      assert.throws(() => {
        for (const read of reads) decoder.push(read);
      }, tooLarge);
    }
  });

  test('events of any number, each within the limit, pass', () => {
    const decoder = createEventStreamDecoder({ maxEventChars: 100, provider: 'p' });
    let count = 0;
    for (let index = 0; index < 1_000; index++) count += decoder.push(Buffer.from(`data: ${'y'.repeat(90)}\n\n: ping\n`)).length;
    assert.equal(count, 1_000);
  });
});

describe('limits in the config file', () => {
  test('global, per configured provider and per built-in provider, over the defaults', () => {
    const config = parseConfig({
      limits: { bodyBytes: 1_000_000 },
      providers: [{ name: 'local', type: 'openai-compatible', baseUrl: 'http://127.0.0.1:9/v1', models: ['x'], limits: { eventChars: 2_000 } }],
      builtin: { Lockchat: { limits: { answerChars: 3_000 } } },
    });
    const settings = settingsFromConfig(config);
    assert.deepEqual(resolveLimits(settings, 'local'), { bodyBytes: 1_000_000, eventChars: 2_000, answerChars: DEFAULT_LIMITS.answerChars });
    assert.deepEqual(resolveLimits(settings, 'Lockchat'), { bodyBytes: 1_000_000, eventChars: DEFAULT_LIMITS.eventChars, answerChars: 3_000 });
    assert.deepEqual(DEFAULT_LIMITS, { bodyBytes: 16 * 1024 * 1024, eventChars: 1024 * 1024, answerChars: 4 * 1024 * 1024 });
    // A call's own limits only lower the provider's.
    assert.deepEqual(resolveLimits(settings, 'local', { bodyBytes: 10, eventChars: 1e12 }), {
      bodyBytes: 10,
      eventChars: 2_000,
      answerChars: DEFAULT_LIMITS.answerChars,
    });
    assert.throws(() => parseConfig({ limits: { bodyBytes: 0 } }), /limits\.bodyBytes/);
    assert.throws(() => parseConfig({ limits: { lines: 5 } }), /limits/);
  });
});
