/**
 * The native providers behind `g4f serve`: one config file with an Anthropic, an Ollama and a
 * Gemini provider (each at its emulator), the server started from it, and the official `openai`
 * client asking each the same conversation with a tool and an image: the same tool calls and the
 * same text come back, and each upstream got the conversation in its own shape. Also the config
 * file's native provider types.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { createRouterFromConfig, isG4FError, loadConfig, parseConfig, type Chunk, type G4FConfig, type Router, type Runtime } from '../src/index.js';
import { createNativeEmulator, type NativeEmulator } from '../src/emulators/native.js';
import { createCollectingLogger, startServer, type RunningServer } from '../src/server/index.js';
import { PNG } from './conformance-cases.js';
import { askWithTools, photoQuestion, weatherCalls, type Answer } from './weather-chat.js';

type Body = Record<string, unknown>;

interface Row {
  model: string;
  emulator(): NativeEmulator;
  /** The image of the first user message, as the upstream got it. */
  image(body: Body): unknown;
  expectedImage: unknown;
  /** The tool result of the second turn, as the upstream got it (`id`: the call's id from the first answer). */
  toolResult(body: Body): unknown;
  expectedToolResult(id: string): unknown;
}

let anthropic: NativeEmulator;
let ollama: NativeEmulator;
let gemini: NativeEmulator;

const rows: Row[] = [
  {
    model: 'claude/claude-test',
    emulator: () => anthropic,
    image: (body) => ((body.messages as Body[])[0]?.content as unknown[])[1],
    expectedImage: { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } },
    toolResult: (body) => (body.messages as Body[]).at(-1),
    expectedToolResult: (id) => ({ role: 'user', content: [{ type: 'tool_result', tool_use_id: id, content: '{"celsius":21}' }] }),
  },
  {
    model: 'local/llama3.2',
    emulator: () => ollama,
    image: (body) => ((body.messages as Body[])[1]?.images as unknown[])[0],
    expectedImage: PNG,
    toolResult: (body) => (body.messages as Body[]).at(-1),
    expectedToolResult: () => ({ role: 'tool', content: '{"celsius":21}', tool_name: 'get_weather' }),
  },
  {
    model: 'gem/gemini-test',
    emulator: () => gemini,
    image: (body) => ((body.contents as Body[])[0]?.parts as unknown[])[1],
    expectedImage: { inlineData: { mimeType: 'image/png', data: PNG } },
    toolResult: (body) => (body.contents as Body[]).at(-1),
    expectedToolResult: () => ({ role: 'user', parts: [{ functionResponse: { name: 'get_weather', response: { celsius: 21 } } }] }),
  },
];

const question = photoQuestion('What is the weather where this photo was taken?');

function nativeConfigFile(): unknown {
  return {
    providers: [
      { name: 'claude', type: 'anthropic', baseUrl: anthropic.url, apiKeyEnv: 'G4F_TEST_ANTHROPIC_KEY', models: ['claude-test'], maxTokens: 1024 },
      { name: 'local', type: 'ollama', baseUrl: ollama.url, models: ['llama3.2'] },
      { name: 'gem', type: 'gemini', baseUrl: gemini.url, apiKeyEnv: 'G4F_TEST_GEMINI_KEY', models: ['gemini-test'] },
    ],
    retry: { attempts: 1 },
  };
}

function nativeConfig(): G4FConfig {
  return parseConfig(nativeConfigFile());
}

before(async () => {
  [anthropic, ollama, gemini] = await Promise.all([
    createNativeEmulator({ protocol: 'anthropic', apiKey: 'anthropic-test-key' }),
    createNativeEmulator({ protocol: 'ollama' }),
    createNativeEmulator({ protocol: 'gemini', apiKey: 'gemini-test-key' }),
  ]);
  process.env.G4F_TEST_ANTHROPIC_KEY = 'anthropic-test-key';
  process.env.G4F_TEST_GEMINI_KEY = 'gemini-test-key';
});
after(async () => {
  await Promise.all([anthropic.close(), ollama.close(), gemini.close()]);
  delete process.env.G4F_TEST_ANTHROPIC_KEY;
  delete process.env.G4F_TEST_GEMINI_KEY;
  await Promise.all(runtimes.map((runtime) => runtime.close()));
});

/** The runtimes the tests' routers were built on (each from its config's settings), closed at the end. */
const runtimes: Runtime[] = [];

function routerFrom(config: G4FConfig): Router {
  const router = createRouterFromConfig(config);
  runtimes.push(router.runtime);
  return router;
}

describe('g4f serve with native providers, through the openai client', () => {
  let server: RunningServer;
  let client: OpenAI;
  before(async () => {
    // As `g4f serve --config FILE` does: the file loaded, then the server started from it.
    const directory = await mkdtemp(join(tmpdir(), 'g4f-native-'));
    const file = join(directory, 'g4f.config.json');
    await writeFile(file, JSON.stringify(nativeConfigFile(), null, 2));
    const config = await loadConfig(file);
    await rm(directory, { recursive: true, force: true });
    server = await startServer({ port: 0, web: false, config, logger: createCollectingLogger() });
    client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 20_000 });
  });
  after(async () => {
    await server.close(2_000);
  });

  const ask = (row: Row, messages: OpenAI.ChatCompletionMessageParam[], stream: boolean): Promise<Answer> => askWithTools(client, row.model, messages, stream);

  for (const stream of [false, true]) {
    test(`the same conversation with a tool and an image gives the same calls and text from each protocol (${stream ? 'streamed' : 'whole'})`, async () => {
      const firsts: Answer[] = [];
      const seconds: Answer[] = [];
      for (const row of rows) {
        const emulator = row.emulator();
        emulator.reset();
        emulator.enqueue(weatherCalls, { text: 'It is 21 °C in Paris, under a clear sky.' });
        const first = await ask(row, question, stream);
        firsts.push(first);
        assert.equal(first.finish, 'tool_calls', row.model);
        assert.deepEqual(row.image(emulator.requests[0]?.body as Body), row.expectedImage, `${row.model}: the image on the wire`);
        assert.equal(first.calls.length, 2, row.model);
        assert.ok(
          first.calls.every((call) => call.id !== ''),
          `${row.model}: every call has an id`,
        );
        const second = await ask(
          row,
          [
            ...question,
            {
              role: 'assistant',
              content: first.text,
              tool_calls: [{ id: first.calls[0]?.id ?? '', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
            },
            { role: 'tool', tool_call_id: first.calls[0]?.id ?? '', content: '{"celsius":21}' },
          ],
          stream,
        );
        seconds.push(second);
        assert.equal(second.finish, 'stop', row.model);
        assert.deepEqual(
          row.toolResult(emulator.requests[1]?.body as Body),
          row.expectedToolResult(first.calls[0]?.id ?? ''),
          `${row.model}: the tool result on the wire`,
        );
      }
      const comparable = (answer: Answer): unknown => ({ text: answer.text, calls: answer.calls.map((call) => [call.name, call.arguments]) });
      assert.deepEqual(comparable(firsts[0] as Answer), {
        text: 'Let me look.',
        calls: [
          ['get_weather', '{"city":"Paris"}'],
          ['get_weather', '{"city":"Lyon"}'],
        ],
      });
      for (const answer of firsts.slice(1)) assert.deepEqual(comparable(answer), comparable(firsts[0] as Answer));
      for (const answer of seconds) assert.deepEqual(comparable(answer), { text: 'It is 21 °C in Paris, under a clear sky.', calls: [] });
    });
  }

  test('an upstream fault reaches the client as an OpenAI-shaped error', async () => {
    anthropic.reset();
    anthropic.enqueue({ status: 529 });
    await assert.rejects(client.chat.completions.create({ model: 'claude/claude-test', messages: [{ role: 'user', content: 'hi' }] }), (error: unknown) => {
      assert.ok(error instanceof OpenAI.APIError, String(error));
      assert.ok((error.status ?? 0) >= 500, `status ${error.status}`);
      return true;
    });
  });
});

describe('config: the native provider types', () => {
  test('each type makes a provider of its protocol, with its capabilities and base URL', () => {
    const router = routerFrom(nativeConfig());
    const listed = Object.fromEntries(router.listProviders().map((provider) => [provider.name, provider]));
    for (const [name, url] of [
      ['claude', anthropic.url],
      ['local', ollama.url],
      ['gem', gemini.url],
    ] as const) {
      assert.equal(listed[name]?.url, url);
      assert.deepEqual(
        listed[name]?.capabilities,
        { tools: true, vision: true, jsonSchema: true, reasoning: true, n: false, logprobs: false, embeddings: false },
        name,
      );
    }
    assert.equal(listed.claude?.needsAuth, true);
    assert.equal(listed.gem?.needsAuth, true);
    assert.equal(listed.local?.needsAuth, false);
  });

  test('maxTokens, modelMaxTokens, headers and headersEnv reach the upstream', async () => {
    process.env.G4F_TEST_BETA = 'tools-2099-01-01';
    try {
      const router = routerFrom(
        parseConfig({
          providers: [
            {
              name: 'claude',
              type: 'anthropic',
              baseUrl: anthropic.url,
              apiKeyEnv: 'G4F_TEST_ANTHROPIC_KEY',
              models: ['claude-test', 'claude-big'],
              maxTokens: 2048,
              modelMaxTokens: { 'claude-big': 64000 },
              headers: { 'x-team': 'blue' },
              headersEnv: { 'anthropic-beta': 'G4F_TEST_BETA' },
            },
          ],
        }),
      );
      anthropic.reset();
      for (const model of ['claude-test', 'claude-big']) await router.complete({ model, messages: [{ role: 'user', content: 'hi' }], stream: false });
      assert.deepEqual(
        anthropic.requests.map((request) => (request.body as Body).max_tokens),
        [2048, 64000],
      );
      assert.equal(anthropic.requests[0]?.headers['x-team'], 'blue');
      assert.equal(anthropic.requests[0]?.headers['anthropic-beta'], 'tools-2099-01-01');
    } finally {
      delete process.env.G4F_TEST_BETA;
    }
  });

  test('capabilities turned off in the file are honoured: the request is refused, no upstream asked', async () => {
    const router = routerFrom(
      parseConfig({ providers: [{ name: 'local', type: 'ollama', baseUrl: ollama.url, models: ['llava'], capabilities: { vision: false } }] }),
    );
    ollama.reset();
    const chunks: Chunk[] = [];
    await assert.rejects(
      (async () => {
        for await (const chunk of router.stream({
          model: 'llava',
          stream: true,
          messages: [{ role: 'user', content: [{ type: 'image', url: `data:image/png;base64,${PNG}` }] }],
        }))
          chunks.push(chunk);
      })(),
      (error: unknown) => isG4FError(error, 'UnsupportedError'),
    );
    assert.equal(ollama.requests.length, 0);
  });

  test('a provider that needs a key and has none is refused before any request', async () => {
    const router = routerFrom(
      parseConfig({ providers: [{ name: 'gem', type: 'gemini', baseUrl: gemini.url, apiKeyEnv: 'G4F_TEST_UNSET_KEY', models: ['gemini-test'] }] }),
    );
    gemini.reset();
    await assert.rejects(router.complete({ model: 'gem/gemini-test', messages: [{ role: 'user', content: 'hi' }], stream: false }), (error: unknown) =>
      isG4FError(error, 'AllProvidersFailedError') ? error.attempts.some((attempt) => isG4FError(attempt.error, 'AuthError')) : isG4FError(error, 'AuthError'),
    );
    assert.equal(gemini.requests.length, 0);
  });

  const refused: Array<[string, unknown, RegExp]> = [
    ['an unknown type', { name: 'x', type: 'vertex', baseUrl: 'http://h', models: ['m'] }, /providers\.0\.type: /],
    ['a path on a native type', { name: 'x', type: 'ollama', baseUrl: 'http://h', models: ['m'], path: '/v1/chat' }, /providers\.0: .*"path"/],
    ['maxTokens on a type without it', { name: 'x', type: 'gemini', baseUrl: 'http://h', models: ['m'], maxTokens: 100 }, /providers\.0: .*"maxTokens"/],
    [
      'a maxTokens that is not a positive integer',
      { name: 'x', type: 'anthropic', baseUrl: 'http://h', models: ['m'], maxTokens: 0 },
      /providers\.0\.maxTokens: /,
    ],
    ['an API key in the file', { name: 'x', type: 'anthropic', baseUrl: 'http://h', models: ['m'], apiKey: 'sk-ant-in-file' }, /providers\.0: .*"apiKey"/],
    [
      'a credential header in plain headers',
      { name: 'x', type: 'gemini', baseUrl: 'http://h', models: ['m'], headers: { 'x-goog-api-key': 'k' } },
      /headersEnv/,
    ],
  ];
  for (const [title, provider, message] of refused) {
    test(`refused: ${title}`, () => {
      assert.throws(
        () => parseConfig({ providers: [provider] }),
        (error: unknown) => {
          assert.ok(isG4FError(error, 'ConfigError'), String(error));
          assert.match(error.message, message);
          assert.ok(!error.message.includes('sk-ant-in-file'));
          return true;
        },
      );
    });
  }
});
