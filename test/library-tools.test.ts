/** The library with tool calls, images and reasoning: ChatCompletion.complete / stream, the Client, and refusals. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  ChatCompletion,
  Client,
  createCompletion,
  createOpenAICompatibleProvider,
  createRouter,
  isG4FError,
  type Chunk,
  type Router,
  type ToolDefinition,
} from '../src/index.js';
import { createEmulator, type Emulator } from '../src/emulators/index.js';
import { createRuntime } from '../src/core/runtime.js';

/** The test's own settings, connection pools and clock. */
const runtime = createRuntime();
after(() => runtime.close());

const weather: ToolDefinition = {
  name: 'get_weather',
  description: 'The weather in a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

describe('the library with tools, images and reasoning', () => {
  let full: Emulator;
  let plain: Emulator;
  let router: Router;
  before(async () => {
    full = await createEmulator({ protocol: 'openai' });
    plain = await createEmulator({ protocol: 'openai' });
    router = createRouter({
      runtime,
      providers: [
        createOpenAICompatibleProvider({ name: 'plain', url: `${plain.url}/v1`, models: ['m', 'text-only'], capabilities: {} }),
        createOpenAICompatibleProvider({ name: 'full', url: `${full.url}/v1`, models: ['m'] }),
      ],
      models: { m: ['plain', 'full'], 'text-only': ['plain'] },
      retry: { attempts: 1 },
    });
  });
  after(async () => {
    await Promise.all([full.close(), plain.close()]);
  });

  test('ChatCompletion.complete returns tool calls and reasoning; the request reached the capable provider only', async () => {
    full.enqueue({ toolCalls: [{ name: 'get_weather', arguments: '{"city":"Paris"}', id: 'call_1' }], reasoning: 'need the weather' });
    const result = await ChatCompletion.complete(
      { model: 'm', messages: [{ role: 'user', content: 'weather?' }], tools: [weather], toolChoice: 'auto' },
      router,
    );
    assert.equal(result.provider, 'full');
    assert.deepEqual(result.toolCalls, [{ id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' }]);
    assert.equal(result.reasoning, 'need the weather');
    assert.equal(result.finishReason, 'tool_calls');
    assert.equal(plain.requests.length, 0, 'the text-only provider was skipped');
    const body = full.requests.at(-1)?.body as { tools: unknown; tool_choice: unknown };
    assert.deepEqual(body.tools, [
      { type: 'function', function: { name: 'get_weather', description: 'The weather in a city', parameters: weather.parameters } },
    ]);
    assert.equal(body.tool_choice, 'auto');
  });

  test('ChatCompletion.stream yields tool-call parts: id and name first, argument fragments after', async () => {
    full.enqueue({ toolCalls: [{ name: 'get_weather', arguments: '{"city":"Oslo"}', cuts: [3, 9] }] });
    const parts: Chunk[] = [];
    for await (const part of ChatCompletion.stream({ model: 'm', messages: [{ role: 'user', content: 'weather?' }], tools: [weather] }, router))
      parts.push(part);
    const calls = parts.filter((part) => part.type === 'tool-call-delta');
    assert.ok(calls.length >= 2);
    assert.equal(calls[0]?.name, 'get_weather');
    assert.ok(calls[0]?.id !== undefined);
    assert.equal(calls.map((part) => part.argumentsDelta).join(''), '{"city":"Oslo"}');
  });

  test('a multi-turn tool conversation reaches the upstream in its own shape', async () => {
    full.enqueue({ text: 'It is sunny.' });
    const text = await ChatCompletion.create(
      {
        model: 'full/m',
        messages: [
          { role: 'user', content: 'weather?' },
          { role: 'assistant', content: null, toolCalls: [{ id: 'call_9', name: 'get_weather', arguments: '{"city":"Rome"}' }] },
          { role: 'tool', toolCallId: 'call_9', content: '{"sky":"clear"}' },
        ],
        max_tokens: 20,
      },
      router,
    );
    assert.equal(text, 'It is sunny.');
    const body = full.requests.at(-1)?.body as { messages: unknown; max_tokens: unknown };
    assert.deepEqual(body.messages, [
      { role: 'user', content: 'weather?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_9', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } }] },
      { role: 'tool', tool_call_id: 'call_9', content: '{"sky":"clear"}' },
    ]);
    assert.equal(body.max_tokens, 20, "g4f's loose option max_tokens is read as maxTokens");
  });

  test('ChatCompletion.create refuses tools (its text would drop the calls); createCompletion too', async () => {
    const seen = full.requests.length;
    const error = await ChatCompletion.create({ model: 'm', messages: [{ role: 'user', content: 'x' }], tools: [weather] }, router).catch(
      (failure: unknown) => failure,
    );
    assert.ok(isG4FError(error, 'UnsupportedError'));
    assert.match(error.message, /ChatCompletion.complete/);
    assert.throws(
      () => createCompletion(router.resolve('m').providers[1]!, { model: 'm', messages: [{ role: 'user', content: 'x' }], tools: [weather] }, router),
      /tool calls/,
    );
    assert.equal(full.requests.length, seen);
  });

  test('an image to a model with only text-only providers: UnsupportedError naming the feature and the providers, nothing sent', async () => {
    const seen = plain.requests.length;
    const error = await ChatCompletion.complete(
      {
        model: 'text-only',
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'look' },
              { type: 'image', url: 'https://example.test/cat.png' },
            ],
          },
        ],
      },
      router,
    ).catch((failure: unknown) => failure);
    assert.ok(isG4FError(error, 'UnsupportedError'));
    assert.match(error.message, /image input/);
    assert.match(error.message, /plain \(no image input\)/);
    assert.equal(plain.requests.length, seen);
  });

  test('the Client takes OpenAI fields and answers in OpenAI shapes, streamed and not', async () => {
    const client = new Client({ router });
    full.enqueue({ toolCalls: [{ name: 'get_weather', arguments: { city: 'Lima' }, id: 'call_x' }], reasoning: 'thinking' });
    const completion = await client.chat.completions.create({
      model: 'm',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'see' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
          ],
        },
      ],
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: {} } } }],
    });
    const choice = completion.choices[0];
    assert.equal(choice?.message.content, null);
    assert.equal(choice?.message.reasoning_content, 'thinking');
    assert.deepEqual(choice?.message.tool_calls, [{ id: 'call_x', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Lima"}' } }]);
    assert.equal(choice?.finish_reason, 'tool_calls');
    const sent = full.requests.at(-1)?.body as { messages: Array<{ content: unknown }> };
    assert.deepEqual(sent.messages[0]?.content, [
      { type: 'text', text: 'see' },
      { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
    ]);

    full.enqueue({ toolCalls: [{ name: 'get_weather', arguments: '{"city":"Quito"}', cuts: [4] }] });
    const stream = await client.chat.completions.create({
      model: 'm',
      stream: true,
      messages: [{ role: 'user', content: 'weather?' }],
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: {} } } }],
    });
    const entries: Array<{ index: number; id?: string; name?: string; arguments: string }> = [];
    let finish: string | null = null;
    for await (const chunk of stream) {
      for (const item of chunk.choices) {
        for (const call of item.delta.tool_calls ?? []) {
          const entry: { index: number; id?: string; name?: string; arguments: string } = { index: call.index, arguments: call.function.arguments };
          if (call.id !== undefined) entry.id = call.id;
          if (call.function.name !== undefined) entry.name = call.function.name;
          entries.push(entry);
        }
        if (item.finish_reason !== null) finish = item.finish_reason;
      }
    }
    assert.equal(entries.filter((entry) => entry.id !== undefined).length, 1, 'the id once');
    assert.equal(entries[0]?.name, 'get_weather');
    assert.equal(entries.map((entry) => entry.arguments).join(''), '{"city":"Quito"}');
    assert.equal(finish, 'tool_calls');
  });

  test('the Client refuses bad OpenAI input with a typed error naming the field', async () => {
    const client = new Client({ router });
    const error = await client.chat.completions
      .create({ model: 'm', messages: [{ role: 'user', content: 'x' }], tools: [{ type: 'function', function: { name: 'bad name!' } }] })
      .catch((failure: unknown) => failure);
    assert.ok(isG4FError(error, 'InvalidRequestError'));
    assert.equal(error.param, 'tools[0].function.name');
  });
});
