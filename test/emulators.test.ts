/**
 * Tests of the upstream emulators themselves: the bytes they send, every fault of a plan,
 * recording, and connection tracking. No fixed sleeps: every wait is on an event or a promise.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createParser } from 'eventsource-parser';
import { Agent, request, type Dispatcher } from 'undici';
import { createEmulator, splitText, startEmulators, tokenChunks, type Emulator, type RecordedRequest } from '../src/emulators/index.js';

const dispatcher = new Agent({ keepAliveTimeout: 10_000 });
after(() => dispatcher.close());

interface Reply {
  status: number;
  headers: Record<string, string>;
  text: string;
}

function chatBody(content: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    model: 'gpt-4',
    messages: [
      { role: 'system', content: 'be brief' },
      { role: 'user', content },
    ],
    ...extra,
  };
}

function headerRecord(headers: Dispatcher.ResponseData['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  return out;
}

async function call(
  url: string,
  body: unknown,
  options: { method?: 'GET' | 'POST'; raw?: string; signal?: AbortSignal } = {},
): Promise<Dispatcher.ResponseData<unknown>> {
  const init: Parameters<typeof request>[1] = {
    dispatcher,
    method: options.method ?? 'POST',
    headers: { 'content-type': 'application/json', 'x-test-header': 'Yes' },
  };
  if (options.method !== 'GET') init.body = options.raw ?? JSON.stringify(body);
  if (options.signal !== undefined) init.signal = options.signal;
  return request(url, init);
}

async function post(url: string, body: unknown, options: { method?: 'GET' | 'POST'; raw?: string } = {}): Promise<Reply> {
  const response = await call(url, body, options);
  return { status: response.statusCode, headers: headerRecord(response.headers), text: await response.body.text() };
}

/** The `data:` payloads of an SSE text, parsed with eventsource-parser. */
function sseData(text: string): string[] {
  const data: string[] = [];
  const parser = createParser({ onEvent: (event) => data.push(event.data) });
  parser.feed(text);
  return data;
}

interface ChunkJson {
  id: string;
  object: string;
  created: number;
  model: string;
  choices?: { index: number; delta: { role?: string; content?: string }; finish_reason: string | null }[];
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

function contentOf(text: string): string {
  return sseData(text)
    .filter((data) => data !== '[DONE]')
    .map((data) => (JSON.parse(data) as ChunkJson).choices?.[0]?.delta.content ?? '')
    .join('');
}

function expectedStream(record: RecordedRequest, pieces: string[], model: string, usage?: string): string {
  const prefix = `{"id":"chatcmpl-emu-${record.chatIndex}","object":"chat.completion.chunk","created":${Math.floor(record.receivedAt / 1000)},"model":"${model}"`;
  let text = `data: ${prefix},"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}\n\n`;
  for (const piece of pieces) text += `data: ${prefix},"choices":[{"index":0,"delta":{"content":${JSON.stringify(piece)}},"finish_reason":null}]}\n\n`;
  text += `data: ${prefix},"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n`;
  if (usage !== undefined) text += `data: ${prefix},"choices":[],"usage":${usage}}\n\n`;
  return `${text}data: [DONE]\n\n`;
}

let lockchat: Emulator;
let openai: Emulator;
before(async () => {
  lockchat = await createEmulator({ protocol: 'lockchat' });
  openai = await createEmulator({ protocol: 'openai' });
});
after(async () => {
  await Promise.all([lockchat.close(), openai.close()]);
});
beforeEach(() => {
  lockchat.reset();
  openai.reset();
  lockchat.setDefaultPlan({});
  openai.setDefaultPlan({});
  lockchat.setScript(undefined);
  openai.setScript(undefined);
});

describe('happy paths', () => {
  test('splitText cuts in code points and joins back', () => {
    assert.deepEqual(splitText('Echo: hello', 5), ['Ech', 'o:', ' h', 'el', 'lo']);
    assert.deepEqual(splitText('ab', 5), ['a', 'b']);
    assert.deepEqual(splitText('', 5), []);
    assert.equal(splitText('a😀b😀c', 3).join(''), 'a😀b😀c');
    assert.deepEqual(splitText('😀😀', 2), ['😀', '😀']);
  });

  test('lockchat streams the exact OpenAI chunk bytes, whatever "stream" says', async () => {
    const reply = await post(`${lockchat.url}/v1/chat/completions?auth=FnMNPlwZEnGFqvEc9470Vw%3D%3D`, chatBody('héllo wörld', { stream: false }));
    assert.equal(reply.status, 200);
    assert.match(reply.headers['content-type'] ?? '', /^text\/event-stream/);
    const record = lockchat.requests[0];
    assert.ok(record);
    assert.equal(reply.text, expectedStream(record, splitText('Echo: héllo wörld', 5), 'gpt-4'));
    assert.equal(record.query.auth, 'FnMNPlwZEnGFqvEc9470Vw==');
    assert.equal(record.outcome, 'completed');
  });

  test('lockchat never sends a usage chunk and has no models route', async () => {
    const reply = await post(`${lockchat.url}/v1/chat/completions`, chatBody('x', { stream: true, stream_options: { include_usage: true } }));
    assert.ok(!reply.text.includes('"usage"'));
    assert.equal((await post(`${lockchat.url}/v1/models`, undefined, { method: 'GET' })).status, 404);
    assert.equal((await post(`${lockchat.url}/api/openai/v1/chat/completions`, chatBody('x'))).status, 404);
  });

  test('openai mode streams exact chunks with a usage chunk on both paths', async () => {
    for (const path of ['/v1/chat/completions', '/api/openai/v1/chat/completions']) {
      openai.reset();
      const body = chatBody('one two three', { stream: true, stream_options: { include_usage: true } });
      const reply = await post(`${openai.url}${path}`, body);
      const record = openai.requests[0];
      assert.ok(record);
      // prompt: "be brief" + "one two three" = 5 words; completion: "Echo: one two three" = 4 words.
      const usage = '{"prompt_tokens":5,"completion_tokens":4,"total_tokens":9}';
      assert.equal(reply.text, expectedStream(record, splitText('Echo: one two three', 5), 'gpt-4', usage));
      assert.equal(record.path, path);
    }
  });

  test('openai mode without stream answers one chat.completion JSON', async () => {
    const reply = await post(`${openai.url}/api/openai/v1/chat/completions`, {
      model: 'gpt-3.5-turbo-16k-0613',
      temperature: 0.7,
      messages: [{ role: 'user', content: 'hi there' }],
    });
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['content-type'], 'application/json');
    const record = openai.requests[0];
    assert.ok(record);
    assert.equal(
      reply.text,
      `{"id":"chatcmpl-emu-0","object":"chat.completion","created":${Math.floor(record.receivedAt / 1000)},"model":"gpt-3.5-turbo-16k-0613",` +
        '"choices":[{"index":0,"message":{"role":"assistant","content":"Echo: hi there"},"finish_reason":"stop"}],' +
        '"usage":{"prompt_tokens":2,"completion_tokens":3,"total_tokens":5}}',
    );
  });

  test('models list, unknown path, bad method, invalid JSON', async () => {
    const models = await post(`${openai.url}/v1/models`, undefined, { method: 'GET' });
    const list = JSON.parse(models.text) as { object: string; data: { id: string; object: string }[] };
    assert.equal(list.object, 'list');
    assert.ok(list.data.some((model) => model.id === 'gpt-4' && model.object === 'model'));
    const missing = await post(`${openai.url}/nope`, {});
    assert.equal(missing.status, 404);
    assert.ok((JSON.parse(missing.text) as { error: { message: string } }).error.message.includes('/nope'));
    assert.equal((await post(`${openai.url}/v1/chat/completions`, undefined, { method: 'GET' })).status, 405);
    const invalid = await post(`${openai.url}/v1/chat/completions`, undefined, { raw: '{"model": ' });
    assert.equal(invalid.status, 400);
    const error = (JSON.parse(invalid.text) as { error: { message: string; type: string } }).error;
    assert.match(error.message, /Invalid JSON/);
    assert.equal(error.type, 'invalid_request_error');
    assert.equal(openai.requests[3]?.rawBody, '{"model": ');
    assert.equal(openai.requests[3]?.chatIndex, -1);
  });

  test('text, chunks, chunkCount, model and roleInFirstChunk', async () => {
    openai.enqueue({ chunks: ['a', 'β', 'c'] }, { text: 'hello world', chunkCount: 2 }, { text: 'x', model: 'other', roleInFirstChunk: true });
    const first = await post(`${openai.url}/v1/chat/completions`, chatBody('q', { stream: true }));
    assert.deepEqual(
      sseData(first.text)
        .slice(1, 4)
        .map((data) => (JSON.parse(data) as ChunkJson).choices?.[0]?.delta.content),
      ['a', 'β', 'c'],
    );
    const second = await post(`${openai.url}/v1/chat/completions`, chatBody('q', { stream: true }));
    assert.deepEqual(
      sseData(second.text)
        .slice(1, 3)
        .map((data) => (JSON.parse(data) as ChunkJson).choices?.[0]?.delta.content),
      ['hello ', 'world'],
    );
    const third = await post(`${openai.url}/v1/chat/completions`, chatBody('q', { stream: true }));
    const events = sseData(third.text).map((data) => (data === '[DONE]' ? undefined : (JSON.parse(data) as ChunkJson)));
    assert.deepEqual(events[0]?.choices?.[0]?.delta, { role: 'assistant', content: 'x' });
    assert.equal(events[0]?.model, 'other');
    assert.equal(events.length, 3);
  });

  test('demo reply is deterministic Markdown with a code block', async () => {
    openai.setDefaultPlan({ reply: 'demo' });
    const one = await post(`${openai.url}/v1/chat/completions`, chatBody('What is g4f?', { stream: true }));
    const two = await post(`${openai.url}/v1/chat/completions`, chatBody('What is g4f?', { stream: true }));
    const text = contentOf(one.text);
    assert.equal(text, contentOf(two.text));
    assert.match(text, /emulated answer/);
    assert.match(text, /```ts\n[\s\S]+\n```/);
    assert.match(text, /What is g4f\?/);
    assert.ok(sseData(one.text).length > 20, 'the demo answer streams word by word');
  });

  test('tokens: 20000 gives 20,000 small chunks', async () => {
    openai.enqueue({ tokens: 20_000 });
    const reply = await post(`${openai.url}/v1/chat/completions`, chatBody('bench', { stream: true }));
    const data = sseData(reply.text);
    assert.equal(data.length, 20_000 + 3);
    assert.equal(contentOf(reply.text), tokenChunks(20_000).text);
  });

  test('startEmulators starts a lockchat and an openai emulator with the demo plan', async (t) => {
    const started = await startEmulators({ chunkDelayMs: 0 });
    t.after(() => started.close());
    const fromLockchat = await post(`${started.lockchat.url}/v1/chat/completions?auth=x`, chatBody('hi'));
    assert.match(contentOf(fromLockchat.text), /emulated answer/);
    const fromOpenai = await post(`${started.openai.url}/api/openai/v1/chat/completions`, chatBody('hi'));
    assert.match((JSON.parse(fromOpenai.text) as { choices: { message: { content: string } }[] }).choices[0]?.message.content ?? '', /emulated answer/);
    assert.equal(started.lockchat.protocol, 'lockchat');
    assert.equal(started.openai.protocol, 'openai');
    assert.equal(started.openai.requests.length, 0, 'the demo emulators keep no records by default');
  });
});

describe('errors', () => {
  test('modelNotFound in its three framings', async () => {
    lockchat.enqueue({ modelNotFound: 'line' }, { modelNotFound: 'data' }, { modelNotFound: 'json' }, { modelNotFound: true });
    const url = `${lockchat.url}/v1/chat/completions?auth=t`;
    const line = await post(url, chatBody('hi'));
    assert.equal(line.status, 200);
    assert.equal(line.text, 'The model: `gpt-4` does not exist\n');
    const data = await post(url, chatBody('hi'));
    assert.equal(
      data.text,
      'data: {"error":{"message":"The model: `gpt-4` does not exist","type":"invalid_request_error","param":null,"code":"model_not_found"}}\n\n',
    );
    const json = await post(url, { ...chatBody('hi'), model: 'gpt-3.5-turbo' });
    assert.equal(json.status, 404);
    assert.equal(json.headers['content-type'], 'application/json');
    assert.equal((JSON.parse(json.text) as { error: { message: string; code: string } }).error.message, 'The model: `gpt-3.5-turbo` does not exist');
    assert.equal((await post(url, chatBody('hi'))).text, data.text);
  });

  test('failTimes(n) fails n times, then the default plan answers', async () => {
    lockchat.failTimes(2);
    assert.equal(lockchat.queued(), 2);
    const texts: string[] = [];
    for (let attempt = 0; attempt < 3; attempt += 1) texts.push((await post(`${lockchat.url}/v1/chat/completions`, chatBody('hi'))).text);
    assert.ok(texts[0]?.includes('does not exist'));
    assert.ok(texts[1]?.includes('does not exist'));
    assert.equal(contentOf(texts[2] ?? ''), 'Echo: hi');
    openai.failTimes(1, { status: 500 });
    assert.equal((await post(`${openai.url}/v1/chat/completions`, chatBody('hi'))).status, 500);
    assert.equal((await post(`${openai.url}/v1/chat/completions`, chatBody('hi'))).status, 200);
  });

  test('status with OpenAI error bodies and retry headers', async () => {
    const date = new Date(Date.now() + 3000).toUTCString();
    openai.enqueue(
      { status: 429, retryAfter: 2, retryAfterMs: 1500 },
      { status: 503, retryAfter: date },
      { status: 502, errorBody: '<html>bad gateway</html>' },
      { status: 500, errorMessage: 'boom' },
    );
    const limited = await post(`${openai.url}/v1/chat/completions`, chatBody('hi', { stream: true }));
    assert.equal(limited.status, 429);
    assert.equal(limited.headers['retry-after'], '2');
    assert.equal(limited.headers['retry-after-ms'], '1500');
    assert.deepEqual(JSON.parse(limited.text), {
      error: { message: 'Rate limit reached for requests. Please try again later.', type: 'requests', param: null, code: 'rate_limit_exceeded' },
    });
    const overloaded = await post(`${openai.url}/v1/chat/completions`, chatBody('hi'));
    assert.equal(overloaded.status, 503);
    assert.equal(overloaded.headers['retry-after'], date);
    assert.equal((JSON.parse(overloaded.text) as { error: { type: string } }).error.type, 'server_error');
    const raw = await post(`${openai.url}/v1/chat/completions`, chatBody('hi'));
    assert.equal(raw.status, 502);
    assert.equal(raw.text, '<html>bad gateway</html>');
    assert.match(raw.headers['content-type'] ?? '', /^text\/plain/);
    const custom = await post(`${openai.url}/v1/chat/completions`, chatBody('hi'));
    assert.equal((JSON.parse(custom.text) as { error: { message: string } }).error.message, 'boom');
  });

  test('JSON answer variations: forceJson, usage false, empty/missing choices, invalid JSON', async () => {
    openai.enqueue({ forceJson: true }, { usage: false }, { emptyChoices: true }, { missingChoices: true }, { invalidJson: true }, { usage: false });
    const url = `${openai.url}/v1/chat/completions`;
    const forced = await post(url, chatBody('hi', { stream: true }));
    assert.equal(forced.headers['content-type'], 'application/json');
    assert.equal((JSON.parse(forced.text) as { object: string }).object, 'chat.completion');
    const noUsage = JSON.parse((await post(url, chatBody('hi'))).text) as Record<string, unknown>;
    assert.ok(!('usage' in noUsage));
    assert.deepEqual((JSON.parse((await post(url, chatBody('hi'))).text) as { choices: unknown[] }).choices, []);
    assert.ok(!('choices' in (JSON.parse((await post(url, chatBody('hi'))).text) as Record<string, unknown>)));
    const invalid = await post(url, chatBody('hi'));
    assert.equal(invalid.status, 200);
    assert.equal(invalid.headers['content-type'], 'application/json');
    assert.throws(() => JSON.parse(invalid.text) as unknown, SyntaxError);
    const streamNoUsage = await post(url, chatBody('hi', { stream: true, stream_options: { include_usage: true } }));
    assert.ok(!streamNoUsage.text.includes('usage'));
    assert.ok(streamNoUsage.text.endsWith('data: [DONE]\n\n'));
  });
});

describe('broken streams', () => {
  test('malformedAfterChunks sends a broken event and no [DONE]', async () => {
    lockchat.enqueue({ malformedAfterChunks: 1 });
    const reply = await post(`${lockchat.url}/v1/chat/completions`, chatBody('hello'));
    assert.ok(reply.text.endsWith('data: {"choices":[{"delta":\n\n'));
    assert.ok(!reply.text.includes('[DONE]'));
    assert.equal((reply.text.match(/"content":"[^"]/g) ?? []).length, 1);
  });

  for (const chunkDelayMs of [0, 5]) {
    test(`disconnectAfterChunks destroys the socket after n chunks (chunkDelayMs ${chunkDelayMs})`, async () => {
      lockchat.enqueue({ disconnectAfterChunks: 2, chunkDelayMs });
      const response = await call(`${lockchat.url}/v1/chat/completions`, chatBody('hello world'));
      let received = '';
      await assert.rejects(async () => {
        for await (const part of response.body) received += (part as Buffer).toString();
      });
      assert.equal(contentOf(received), splitText('Echo: hello world', 5).slice(0, 2).join(''));
      assert.ok(!received.includes('finish_reason":"stop'));
      const record = await lockchat.waitForEnd(0);
      assert.equal(record.outcome, 'disconnected');
      assert.equal(record.aborted, false);
    });
  }

  test('headerDelayMs, firstChunkDelayMs and chunkDelayMs delay the answer', async () => {
    openai.enqueue({ headerDelayMs: 60, firstChunkDelayMs: 40, chunkDelayMs: 10, chunkCount: 3 });
    const started = performance.now();
    const response = await call(`${openai.url}/v1/chat/completions`, chatBody('hello', { stream: true }));
    const headersAt = performance.now() - started;
    const text = await response.body.text();
    const total = performance.now() - started;
    assert.ok(headersAt >= 55, `headers after ${headersAt} ms`);
    assert.ok(total >= 55 + 40 + 20 - 5, `whole answer after ${total} ms`);
    assert.equal(contentOf(text), 'Echo: hello');
  });

  test('keepAlive, noise and crlf keep the same data events', async () => {
    openai.enqueue({ keepAlive: true, noise: true, crlf: true });
    const reply = await post(`${openai.url}/v1/chat/completions`, chatBody('hello', { stream: true }));
    assert.ok(reply.text.includes(': keep-alive\r\n\r\n'));
    assert.ok(reply.text.includes(': content-type note from the emulator\r\n'));
    assert.ok(reply.text.includes('event: ping\r\n'));
    assert.ok(reply.text.includes('retry: 1000\r\n'));
    assert.ok(reply.text.includes('id: 3\r\n'));
    assert.ok(!/[^\r]\n/.test(reply.text), 'every line ends with CRLF');
    assert.equal(contentOf(reply.text), 'Echo: hello');
    assert.equal(sseData(reply.text).at(-1), '[DONE]');
  });

  test('splitAt writes the body in separate reads, even inside a UTF-8 character', async () => {
    openai.enqueue({ text: 'Ünïcödé' });
    const full = Buffer.from((await post(`${openai.url}/v1/chat/completions`, chatBody('x'))).text);
    const at = full.indexOf(Buffer.from('Ü'));
    assert.ok(at > 10);
    openai.enqueue({ text: 'Ünïcödé', splitAt: [0, 10, at, at + 1, at + 2, 99_999], splitDelayMs: 15 });
    const response = await call(`${openai.url}/v1/chat/completions`, chatBody('x'));
    const parts: Buffer[] = [];
    for await (const part of response.body) parts.push(part as Buffer);
    const bytes = Buffer.concat(parts);
    assert.equal(bytes.toString().replace('chatcmpl-emu-1', 'chatcmpl-emu-0'), full.toString());
    assert.deepEqual(
      parts.map((part) => part.length),
      [10, at - 10, 1, 1, bytes.length - at - 2],
    );
    // The third piece is the first byte of a two-byte character: not valid UTF-8 on its own.
    const piece = parts[2];
    assert.ok(piece);
    assert.throws(() => new TextDecoder('utf-8', { fatal: true }).decode(piece));
  });

  test('splitAt also cuts a stream', async () => {
    openai.enqueue({ splitAt: [5, 200], splitDelayMs: 15 });
    const response = await call(`${openai.url}/v1/chat/completions`, chatBody('hello', { stream: true }));
    const parts: Buffer[] = [];
    for await (const part of response.body) parts.push(part as Buffer);
    assert.deepEqual(
      parts.slice(0, 2).map((part) => part.length),
      [5, 195],
    );
    assert.equal(contentOf(Buffer.concat(parts).toString()), 'Echo: hello');
  });
});

describe('recording and connections', () => {
  test('records method, path, query, lower-cased headers, body and raw body; emits events', async () => {
    const seen: string[] = [];
    const offRequest = lockchat.on('request', (record) => seen.push(`request ${record.index}`));
    const offEnd = lockchat.on('response-end', (record) => seen.push(`end ${record.index} ${record.outcome}`));
    const body = chatBody('héllo', { temperature: 0.7, stream: true });
    const before = Date.now();
    await post(`${lockchat.url}/v1/chat/completions?auth=abc&x=1`, body);
    offRequest();
    offEnd();
    const [record] = lockchat.requests;
    assert.ok(record);
    assert.equal(record.method, 'POST');
    assert.equal(record.path, '/v1/chat/completions');
    assert.deepEqual(record.query, { auth: 'abc', x: '1' });
    assert.equal(record.headers['x-test-header'], 'Yes');
    assert.equal(record.headers['content-type'], 'application/json');
    assert.deepEqual(record.body, body);
    assert.equal(record.rawBody, JSON.stringify(body));
    assert.ok(record.receivedAt >= before);
    assert.deepEqual(record.plan, {});
    assert.deepEqual(seen, ['request 0', 'end 0 completed']);
  });

  test('queue first, then script, then default plan; reset clears queue and records', async () => {
    openai.setScript((record, index) => ({ text: `script ${index} ${record.path}` }));
    openai.enqueue({ text: 'queued' });
    const url = `${openai.url}/v1/chat/completions`;
    const texts: string[] = [];
    for (let time = 0; time < 3; time += 1) {
      texts.push((JSON.parse((await post(url, chatBody('q'))).text) as { choices: { message: { content: string } }[] }).choices[0]?.message.content ?? '');
    }
    assert.deepEqual(texts, ['queued', 'script 1 /v1/chat/completions', 'script 2 /v1/chat/completions']);
    openai.enqueue({ status: 500 });
    openai.reset();
    assert.equal(openai.requests.length, 0);
    assert.equal(openai.queued(), 0);
  });

  test('a stalled stream: the client aborts, the emulator records it and becomes idle', async () => {
    openai.enqueue({ stallAfterChunks: 2 });
    const controller = new AbortController();
    const response = await call(`${openai.url}/v1/chat/completions`, chatBody('hello world', { stream: true }), { signal: controller.signal });
    let received = '';
    const reading = (async () => {
      for await (const part of response.body) {
        received += (part as Buffer).toString();
        if ((received.match(/"content":"[^"]/g) ?? []).length >= 2) controller.abort();
      }
    })();
    await assert.rejects(reading);
    const record = await openai.waitForAbort(0);
    assert.equal(record.aborted, true);
    assert.equal(record.outcome, 'aborted');
    assert.ok(!received.includes('[DONE]'));
    await openai.waitForIdle();
    assert.equal(openai.inFlight(), 0);
    assert.equal(openai.openConnections(), 0);
  });

  test('leaving the body loop early (chunk delays) is seen as an abort', async () => {
    lockchat.enqueue({ tokens: 1000, chunkDelayMs: 5 });
    const aborted = new Promise<RecordedRequest>((resolve) => {
      const off = lockchat.on('aborted', (record) => {
        off();
        resolve(record);
      });
    });
    const response = await call(`${lockchat.url}/v1/chat/completions`, chatBody('hi'));
    for await (const part of response.body) if ((part as Buffer).toString().includes('"content":"lorem')) break;
    assert.equal((await aborted).index, 0);
    assert.equal((await lockchat.waitForAbort()).index, 0);
    await lockchat.waitForIdle();
  });

  test('waitForIdle and waitForAbort reject clearly; keepAliveIntervalMs sends comments while stalled', async () => {
    openai.enqueue({ stallAfterChunks: 0, keepAliveIntervalMs: 10 });
    const response = await call(`${openai.url}/v1/chat/completions`, chatBody('hello', { stream: true }));
    let received = '';
    const iterator = response.body[Symbol.asyncIterator]();
    while ((received.match(/: keep-alive/g) ?? []).length < 2) {
      const next = await iterator.next();
      assert.ok(next.done !== true);
      received += (next.value as Buffer).toString();
    }
    assert.equal(openai.inFlight(), 1);
    await assert.rejects(openai.waitForIdle(50), /timed out after 50 ms waiting for idle \(in flight: #0 POST \/v1\/chat\/completions/);
    response.body.destroy();
    await openai.waitForAbort(0);
    await openai.waitForIdle();

    openai.reset();
    await post(`${openai.url}/v1/chat/completions`, chatBody('hi'));
    await assert.rejects(openai.waitForAbort(0), /ended without an abort \(outcome: completed\)/);
  });

  test('a client that gives up during headerDelayMs is recorded as aborted', async () => {
    lockchat.enqueue({ headerDelayMs: 60_000 });
    const controller = new AbortController();
    const pending = call(`${lockchat.url}/v1/chat/completions`, chatBody('hi'), { signal: controller.signal });
    const [record] = await lockchat.waitForRequests(1);
    assert.equal(record?.outcome, 'pending');
    assert.equal(lockchat.inFlight(), 1);
    controller.abort();
    await assert.rejects(pending);
    assert.equal((await lockchat.waitForAbort(0)).aborted, true);
    await lockchat.waitForIdle();
  });

  test('close() ends stalled answers at once and the client sees an error', async () => {
    const emulator = await createEmulator({ protocol: 'lockchat', defaultPlan: { stallAfterChunks: 1 } });
    const response = await call(`${emulator.url}/v1/chat/completions`, chatBody('hello'));
    const iterator = response.body[Symbol.asyncIterator]();
    await iterator.next();
    await emulator.waitForRequests(1);
    await emulator.close();
    await assert.rejects(async () => {
      for (;;) if ((await iterator.next()).done === true) throw new Error('the stream ended cleanly');
    });
    assert.equal(emulator.requests[0]?.outcome, 'closed');
    assert.equal(emulator.openConnections(), 0);
  });

  test('50 concurrent streams complete', async () => {
    openai.setDefaultPlan({ tokens: 200 });
    const replies = await Promise.all(Array.from({ length: 50 }, () => post(`${openai.url}/v1/chat/completions`, chatBody('x', { stream: true }))));
    for (const reply of replies) assert.equal(contentOf(reply.text), tokenChunks(200).text);
    assert.equal(openai.requests.length, 50);
  });
});
