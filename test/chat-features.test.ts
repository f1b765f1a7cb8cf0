/**
 * Images, capability routing, reasoning, several choices and logprobs through
 * `POST /v1/chat/completions` over real sockets, and the 400s of bad tool and image input.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import OpenAI from 'openai';
import { parseChatRequest } from '../src/server/chat-request.js';
import { createCollectingLogger, startServer } from '../src/server/index.js';
import { postChat, sseData, type RawResponse } from './server-fixture.js';
import { startChatFixture, type ChatFixture } from './chat-fixture.js';

const TOOLS = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];

/** A 1×1 PNG. */
const PNG = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

function errorOf(response: RawResponse): ErrorBody['error'] {
  return (JSON.parse(response.body) as ErrorBody).error;
}

type Event = {
  choices: Array<{
    index: number;
    delta: Record<string, unknown>;
    logprobs?: { content?: Array<Record<string, unknown>> } | null;
    finish_reason: string | null;
  }>;
};

/** The JSON events of an SSE body, `[DONE]` checked and left out. */
function events(body: string): Event[] {
  const data = sseData(body);
  assert.equal(data.at(-1), '[DONE]');
  return data.slice(0, -1).map((item) => JSON.parse(item) as Event);
}

describe('chat features', () => {
  let fixture: ChatFixture;
  before(async () => {
    fixture = await startChatFixture();
  });
  after(async () => {
    await fixture.close();
  });
  beforeEach(() => fixture.reset());

  describe('images', () => {
    test('by URL and by data URL reach the upstream byte-exact, detail kept', async () => {
      const big = `data:image/jpeg;base64,${randomBytes(300_000).toString('base64')}`;
      const content = [
        { type: 'text', text: 'look' },
        { type: 'image_url', image_url: { url: 'https://example.com/images/cat.png?size=large&sig=a%2Fb+c#frag', detail: 'high' } },
        { type: 'image_url', image_url: { url: PNG, detail: 'low' } },
        { type: 'image_url', image_url: { url: 'http://127.0.0.1:9/x.webp' } },
        { type: 'image_url', image_url: { url: big, detail: 'auto' } },
      ];
      const response = await postChat(fixture.url, { model: 'test-model', messages: [{ role: 'user', content }] });
      assert.equal(response.status, 200, response.body);
      assert.equal((JSON.parse(response.body) as { choices: Array<{ message: { content: string } }> }).choices[0]?.message.content, 'Echo: look [4 images]');
      const record = fixture.alpha.requests[0];
      const upstream = (record?.body as { messages: Array<{ content: unknown }> }).messages[0]?.content;
      assert.deepEqual(upstream, content);
      for (const part of content.slice(1)) {
        const url = (part as { image_url: { url: string } }).image_url.url;
        assert.ok(record?.rawBody.includes(JSON.stringify(url)), `${url.slice(0, 40)}… is in the upstream body as sent`);
      }
    });

    test('streamed with the openai package', async () => {
      const client = new OpenAI({ baseURL: `${fixture.url}/v1`, apiKey: 'sk-unused', maxRetries: 0 });
      const stream = await client.chat.completions.create({
        model: 'test-model',
        stream: true,
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'what is it' },
              { type: 'image_url', image_url: { url: PNG, detail: 'high' } },
            ],
          },
        ],
      });
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      assert.equal(text, 'Echo: what is it [1 image]');
      const upstream = (fixture.alpha.requests[0]?.body as { messages: Array<{ content: Array<Record<string, unknown>> }> }).messages[0]?.content[1];
      assert.deepEqual(upstream, { type: 'image_url', image_url: { url: PNG, detail: 'high' } });
    });
  });

  describe('capability routing', () => {
    test('a text request goes to the first provider, text-only or not', async () => {
      const response = await postChat(fixture.url, { model: 'mixed-model', messages: [{ role: 'user', content: 'hi' }] });
      assert.equal(response.headers['x-g4f-provider'], 'plain');
      assert.equal(fixture.plain.requests.length, 1);
    });

    for (const stream of [false, true]) {
      test(`tools skip the text-only provider (stream ${stream})`, async () => {
        fixture.gamma.enqueue({ toolCalls: [{ name: 'get_weather', arguments: '{"city":"Rome"}' }] });
        const response = await postChat(fixture.url, { model: 'mixed-model', stream, tools: TOOLS, messages: [{ role: 'user', content: 'weather' }] });
        assert.equal(response.status, 200, response.body);
        assert.equal(response.headers['x-g4f-provider'], 'gamma');
        assert.match(response.body, /get_weather/);
        assert.equal(fixture.plain.requests.length, 0);
        assert.equal(fixture.gamma.requests.length, 1);
      });
    }

    test('images skip the text-only provider', async () => {
      const response = await postChat(fixture.url, {
        model: 'mixed-model',
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'see' },
              { type: 'image_url', image_url: { url: PNG } },
            ],
          },
        ],
      });
      assert.equal(response.headers['x-g4f-provider'], 'gamma');
      assert.match(response.body, /Echo: see \[1 image\]/);
      assert.equal(fixture.plain.requests.length, 0);
    });

    const needs: Array<[string, Record<string, unknown>, string, RegExp]> = [
      ['tools', { tools: TOOLS }, 'tools', /tool calls/],
      [
        'a tool turn in the history',
        {
          messages: [
            { role: 'user', content: 'q' },
            { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{}' } }] },
            { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
          ],
        },
        'tools',
        /tool calls/,
      ],
      ['images', { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: PNG } }] }] }, 'messages', /image input/],
      ['n = 2', { n: 2 }, 'n', /several choices/],
      ['logprobs', { logprobs: true }, 'logprobs', /logprobs/],
      ['reasoning_effort', { reasoning_effort: 'low' }, 'reasoning_effort', /reasoning/],
      [
        'a json_schema response format',
        { response_format: { type: 'json_schema', json_schema: { name: 'answer', schema: { type: 'object', properties: { a: { type: 'string' } } } } } },
        'response_format',
        /json_schema/,
      ],
    ];
    for (const [name, fields, param, feature] of needs) {
      test(`${name} with only text-only providers: a 400 naming the feature and the providers, no upstream asked`, async () => {
        for (const stream of [false, true]) {
          const response = await postChat(fixture.url, { model: 'text-model', stream, messages: [{ role: 'user', content: 'q' }], ...fields });
          assert.equal(response.status, 400, response.body);
          const error = errorOf(response);
          assert.equal(error.code, 'unsupported');
          assert.equal(error.param, param);
          assert.match(error.message, feature);
          assert.match(error.message, /\bplain\b/);
          assert.match(error.message, /\bplain2\b/);
        }
        assert.equal(fixture.upstreamRequests(), 0);
      });
    }
  });

  describe('reasoning', () => {
    for (const field of ['reasoning_content', 'reasoning'] as const) {
      test(`an upstream that sends ${field}: streamed delta.reasoning_content, whole message.reasoning_content`, async () => {
        const plan = { reasoning: 'First, the sky. Then, the sea.', reasoningField: field, text: 'Blue.' };
        fixture.alpha.enqueue(plan, plan);
        const streamed = await postChat(fixture.url, { model: 'test-model', stream: true, messages: [{ role: 'user', content: 'colour?' }] });
        let reasoning = '';
        let text = '';
        for (const event of events(streamed.body)) {
          const delta = event.choices[0]?.delta ?? {};
          assert.equal(delta.reasoning, undefined, 'the server speaks reasoning_content');
          if (typeof delta.reasoning_content === 'string') {
            assert.equal(text, '', 'reasoning comes before the answer');
            reasoning += delta.reasoning_content;
          }
          if (typeof delta.content === 'string') text += delta.content;
        }
        assert.equal(reasoning, plan.reasoning);
        assert.equal(text, 'Blue.');
        const whole = await postChat(fixture.url, { model: 'test-model', messages: [{ role: 'user', content: 'colour?' }] });
        const message = (JSON.parse(whole.body) as { choices: Array<{ message: Record<string, unknown> }> }).choices[0]?.message;
        assert.equal(message?.reasoning_content, plan.reasoning);
        assert.equal(message?.content, 'Blue.');
      });
    }
  });

  describe('several choices and logprobs', () => {
    test('n = 2 streamed: every choice by its index, interleaved, each with its finish', async () => {
      const response = await postChat(fixture.url, { model: 'test-model', n: 2, stream: true, messages: [{ role: 'user', content: 'two' }] });
      const texts = ['', ''];
      const roles = [0, 0];
      const finishes: Array<Array<string>> = [[], []];
      const order: number[] = [];
      for (const event of events(response.body)) {
        for (const choice of event.choices) {
          assert.ok(choice.index === 0 || choice.index === 1, `index ${choice.index}`);
          order.push(choice.index);
          if (choice.delta.role !== undefined) roles[choice.index]! += 1;
          if (typeof choice.delta.content === 'string') texts[choice.index] += choice.delta.content;
          if (choice.finish_reason !== null) finishes[choice.index]?.push(choice.finish_reason);
        }
      }
      assert.deepEqual(texts, ['Echo: two', 'Echo: two (choice 1)']);
      assert.deepEqual(roles, [1, 1]);
      assert.deepEqual(finishes, [['stop'], ['stop']]);
      assert.ok(order.indexOf(1) < order.lastIndexOf(0), 'the choices interleave');
      assert.equal((fixture.alpha.requests[0]?.body as { n?: number }).n, 2);
    });

    test('n = 2 not streamed', async () => {
      const response = await postChat(fixture.url, { model: 'test-model', n: 2, messages: [{ role: 'user', content: 'two' }] });
      const body = JSON.parse(response.body) as { choices: Array<{ index: number; message: { content: string }; logprobs: unknown; finish_reason: string }> };
      assert.deepEqual(
        body.choices.map((choice) => [choice.index, choice.message.content, choice.logprobs, choice.finish_reason]),
        [
          [0, 'Echo: two', null, 'stop'],
          [1, 'Echo: two (choice 1)', null, 'stop'],
        ],
      );
    });

    /** Checks logprobs entries against the text they are said to cover. */
    function checkEntries(entries: ReadonlyArray<Record<string, unknown>> | undefined, text: string, top: number): void {
      assert.ok(Array.isArray(entries) && entries.length > 0, 'logprobs.content entries');
      assert.equal(entries.map((entry) => entry.token).join(''), text);
      for (const entry of entries) {
        assert.equal(typeof entry.logprob, 'number');
        assert.ok((entry.logprob as number) < 0);
        assert.deepEqual(entry.bytes, [...Buffer.from(entry.token as string, 'utf8')]);
        assert.equal((entry.top_logprobs as unknown[]).length, top);
      }
    }

    test('logprobs relayed, not streamed, with n = 2', async () => {
      const response = await postChat(fixture.url, {
        model: 'test-model',
        n: 2,
        logprobs: true,
        top_logprobs: 2,
        messages: [{ role: 'user', content: 'héllo' }],
      });
      const body = JSON.parse(response.body) as {
        choices: Array<{ message: { content: string }; logprobs: { content: Array<Record<string, unknown>> } | null }>;
      };
      assert.equal(body.choices.length, 2);
      for (const choice of body.choices) checkEntries(choice.logprobs?.content, choice.message.content, 2);
    });

    test('logprobs relayed, streamed: each token with its delta', async () => {
      const response = await postChat(fixture.url, {
        model: 'test-model',
        stream: true,
        n: 2,
        logprobs: true,
        top_logprobs: 1,
        messages: [{ role: 'user', content: 'tokens' }],
      });
      const texts = ['', ''];
      const entries: Array<Array<Record<string, unknown>>> = [[], []];
      for (const event of events(response.body)) {
        for (const choice of event.choices) {
          if (typeof choice.delta.content !== 'string' || choice.delta.content === '') continue;
          texts[choice.index] += choice.delta.content;
          const content = choice.logprobs?.content;
          assert.ok(Array.isArray(content), `a content delta carries its logprobs: ${JSON.stringify(choice)}`);
          assert.deepEqual(
            content.map((entry) => entry.token),
            [choice.delta.content],
          );
          entries[choice.index]?.push(...content);
        }
      }
      assert.deepEqual(texts, ['Echo: tokens', 'Echo: tokens (choice 1)']);
      checkEntries(entries[0], texts[0] as string, 1);
      checkEntries(entries[1], texts[1] as string, 1);
    });
  });

  describe('bad input: a 400 naming the field, nothing sent upstream', () => {
    const user = (content: unknown) => [{ role: 'user', content }];
    const image = (url: string) =>
      user([
        { type: 'text', text: 'x' },
        { type: 'image_url', image_url: { url } },
      ]);
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['a tool name with a space', { tools: [{ type: 'function', function: { name: 'get weather' } }] }, 'tools[0].function.name'],
      ['a tool name of 65 characters', { tools: [{ type: 'function', function: { name: 'a'.repeat(65) } }] }, 'tools[0].function.name'],
      ['a tool name with a dot', { tools: [{ type: 'function', function: { name: 'get.weather' } }] }, 'tools[0].function.name'],
      ['parameters of type string', { tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'string' } } }] }, 'tools[0].function.parameters'],
      ['parameters that are a list', { tools: [{ type: 'function', function: { name: 'f', parameters: [] } }] }, 'tools[0].function.parameters'],
      [
        'a tool message without tool_call_id',
        {
          messages: [
            { role: 'user', content: 'q' },
            { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{}' } }] },
            { role: 'tool', content: 'sunny' },
          ],
          tools: TOOLS,
        },
        'messages[2].tool_call_id',
      ],
      ['tool_choice naming an unknown function', { tools: TOOLS, tool_choice: { type: 'function', function: { name: 'nope' } } }, 'tool_choice'],
      ['an ftp image', { messages: image('ftp://example.com/cat.png') }, 'messages[0].content[1].image_url.url'],
      ['a bmp data URL', { messages: image('data:image/bmp;base64,Qk0=') }, 'messages[0].content[1].image_url.url'],
      ['undecodable base64', { messages: image('data:image/png;base64,iVBO!!==') }, 'messages[0].content[1].image_url.url'],
      ['base64 of a wrong length', { messages: image('data:image/png;base64,iVBORw0KGgo') }, 'messages[0].content[1].image_url.url'],
    ];
    for (const [name, fields, param] of cases) {
      test(name, async () => {
        for (const stream of [false, true]) {
          const response = await postChat(fixture.url, { model: 'test-model', stream, messages: user('q'), ...fields });
          assert.equal(response.status, 400, response.body);
          const error = errorOf(response);
          assert.equal(error.type, 'invalid_request_error');
          assert.equal(error.param, param);
        }
        assert.equal(fixture.upstreamRequests(), 0);
      });
    }

    // OpenAI refuses these with a 400, and so does this server.
    const lenient: Array<[string, Record<string, unknown>, string, string]> = [
      [
        'an empty tools list',
        { tools: [] },
        'tools',
        'the server forwards "tools": [] upstream (OpenAI: "empty array. Expected an array with minimum length 1")',
      ],
      ['top_logprobs without logprobs', { top_logprobs: 2 }, 'top_logprobs', 'the server forwards top_logprobs without logprobs: true (OpenAI refuses it)'],
      [
        'a tool message that answers no call of the turn before',
        {
          messages: [
            { role: 'user', content: 'q' },
            { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{}' } }] },
            { role: 'tool', tool_call_id: 'call_other', content: 'sunny' },
          ],
          tools: TOOLS,
        },
        'messages[2].tool_call_id',
        'the server does not check that a tool message answers a tool_call_id of the assistant turn before it (OpenAI refuses it)',
      ],
    ];
    for (const [name, fields, param] of lenient) {
      test(name, async () => {
        const response = await postChat(fixture.url, { model: 'test-model', messages: user('q'), ...fields });
        assert.equal(response.status, 400, response.body);
        assert.equal(errorOf(response).param, param);
        assert.equal(fixture.upstreamRequests(), 0);
      });
    }

    test('an image over the size limit (imageBodyLimitBytes)', async () => {
      const small = await startServer({ port: 0, web: false, router: fixture.server.router, logger: createCollectingLogger(), imageBodyLimitBytes: 1000 });
      try {
        const body = (bytes: number) => ({ model: 'test-model', messages: image(`data:image/png;base64,${Buffer.alloc(bytes, 7).toString('base64')}`) });
        const over = await postChat(small.url, body(1001));
        assert.equal(over.status, 400, over.body);
        assert.equal(errorOf(over).param, 'messages[0].content[1].image_url.url');
        assert.match(errorOf(over).message, /1001 bytes, over the limit of 1000/);
        assert.equal(fixture.upstreamRequests(), 0);
        const within = await postChat(small.url, body(1000));
        assert.equal(within.status, 200, within.body);
        assert.match(within.body, /Echo: x \[1 image\]/);
      } finally {
        await small.close(2_000);
      }
    });

    test('an image over the size limit, parseChatRequest itself', () => {
      const body = (bytes: number) => ({ model: 'test-model', messages: image(`data:image/png;base64,${Buffer.alloc(bytes, 7).toString('base64')}`) });
      assert.doesNotThrow(() => parseChatRequest(body(1000), { imageBytes: 1000 }));
      assert.throws(
        () => parseChatRequest(body(1001), { imageBytes: 1000 }),
        (error: unknown) => {
          assert.equal((error as { name?: string }).name, 'InvalidRequestError');
          assert.equal((error as { param?: string }).param, 'messages[0].content[1].image_url.url');
          return true;
        },
      );
    });
  });
});
