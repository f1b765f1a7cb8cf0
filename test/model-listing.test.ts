/**
 * `"models": "auto"`: an Ollama provider lists its models from `GET /api/tags`, an
 * OpenAI-compatible one from `GET /v1/models` (beside its chat path); the lists are merged into the
 * model registry (routing, `/v1/models`, `g4f providers`), kept for the refresh interval, asked again
 * after it, and kept when a listing fails (the failure reported, never a failed call).
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import OpenAI from 'openai';
import { createRouterFromConfig, parseConfig, type Router } from '../src/index.js';
import { createEmulator, type Emulator } from '../src/emulators/index.js';
import { createNativeEmulator, type NativeEmulator } from '../src/emulators/native.js';
import { isChatModelId } from '../src/providers/model-listing.js';
import { startServer } from '../src/server/index.js';

/** Every router made here, closed (with its runtime's connections) at the end. */
const routers: Router[] = [];
function kept(router: Router): Router {
  routers.push(router);
  return router;
}

after(async () => {
  await Promise.all(routers.map((router) => router.runtime.close()));
});

function routerOf(providers: unknown[], onError?: (provider: string, error: unknown) => void): Router {
  return kept(createRouterFromConfig(parseConfig({ providers }), onError === undefined ? {} : { onModelListError: onError }));
}

/** Refreshes until `check` holds (each refresh is an event: the listing's reply). */
async function refreshUntil(router: Router, check: () => boolean, tries = 200): Promise<void> {
  for (let attempt = 0; attempt < tries; attempt++) {
    await router.refreshModels();
    if (check()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.fail('the listing never showed what was expected');
}

const modelIds = (router: Router): string[] => router.listModels().map((model) => model.id);

describe('models: auto on the ollama type', () => {
  let ollama: NativeEmulator;
  after(async () => ollama?.close());

  test('GET /api/tags lists the models; routing reaches one it names before any listing', async () => {
    ollama = await createNativeEmulator({ protocol: 'ollama', models: ['llama3.2:latest', 'qwen3:8b'], defaultPlan: { text: 'Hi from qwen' } });
    const router = routerOf([{ name: 'Local', type: 'ollama', baseUrl: ollama.url, models: 'auto' }]);
    // The first call waits for the listing: the model is unknown until then.
    const answer = await router.complete({ model: 'qwen3:8b', messages: [{ role: 'user', content: 'Hello' }], stream: false });
    assert.equal(answer.text, 'Hi from qwen');
    assert.equal(answer.provider, 'Local');
    const listings = ollama.requests.filter((request) => request.path === '/api/tags');
    assert.equal(listings.length, 1);
    assert.equal(listings[0]?.method, 'GET');
    assert.ok(modelIds(router).includes('llama3.2:latest'));
    assert.deepEqual(router.listProviders().find((provider) => provider.name === 'Local')?.models, ['llama3.2:latest', 'qwen3:8b']);
    // Within the interval (default 5 minutes), no second listing.
    await router.refreshModels();
    router.listModels();
    assert.equal(ollama.requests.filter((request) => request.path === '/api/tags').length, 1);
    // A model no listing names is still unknown: a typed error, not a hang.
    await assert.rejects(router.complete({ model: 'missing:1b', messages: [{ role: 'user', content: 'x' }], stream: false }), { name: 'UnknownModelError' });
  });

  test('a refresh interval: the list is asked again and changes; a failed listing keeps the last list and is reported', async () => {
    const emulator = await createNativeEmulator({ protocol: 'ollama', models: ['a:1b'] });
    const failures: string[] = [];
    const router = routerOf([{ name: 'Refreshing', type: 'ollama', baseUrl: emulator.url, models: 'auto', modelRefreshMs: 1 }], (provider, error) =>
      failures.push(`${provider}: ${(error as Error).name}`),
    );
    await refreshUntil(router, () => modelIds(router).includes('a:1b'));
    emulator.setModels(['a:1b', 'b:2b']);
    await refreshUntil(router, () => modelIds(router).includes('b:2b'));
    await emulator.close();
    await refreshUntil(router, () => failures.length > 0);
    assert.match(failures[0] ?? '', /^Refreshing: ConnectionError$/);
    assert.ok(modelIds(router).includes('b:2b'), 'the last good list is kept');
  });

  test('the Ollama preset (G4F_OLLAMA_URL) lists its models', async () => {
    const emulator = await createNativeEmulator({ protocol: 'ollama', models: ['gemma3:4b'] });
    process.env.G4F_OLLAMA_URL = emulator.url;
    try {
      const router = kept(createRouterFromConfig({}));
      await router.refreshModels();
      assert.deepEqual(router.listModels().find((model) => model.id === 'gemma3:4b')?.providers, ['Ollama']);
    } finally {
      delete process.env.G4F_OLLAMA_URL;
      await emulator.close();
    }
  });
});

describe('models: auto on the anthropic and gemini types', () => {
  const KEY = 'listing-key-0012';
  test("Anthropic's GET /v1/models and Gemini's GET /v1beta/models, each with its own key header, no bearer", async () => {
    process.env.LISTING_TEST_KEY = KEY;
    const anthropic = await createNativeEmulator({ protocol: 'anthropic', apiKey: KEY, models: ['claude-a', 'claude-b'] });
    const gemini = await createNativeEmulator({ protocol: 'gemini', apiKey: KEY, models: ['gemini-x', 'gemini-embedding-001', 'gemma-y'] });
    try {
      const router = routerOf([
        { name: 'Claude', type: 'anthropic', baseUrl: anthropic.url, apiKeyEnv: 'LISTING_TEST_KEY', models: 'auto' },
        { name: 'Gem', type: 'gemini', baseUrl: gemini.url, apiKeyEnv: 'LISTING_TEST_KEY', models: 'auto' },
      ]);
      await router.refreshModels();
      const listed = (name: string): string[] | undefined => router.listProviders().find((provider) => provider.name === name)?.models;
      assert.deepEqual(listed('Claude'), ['claude-a', 'claude-b']);
      assert.deepEqual(listed('Gem'), ['gemini-x', 'gemma-y']);
      const [claudeList] = anthropic.requests;
      assert.equal(`${claudeList?.method} ${claudeList?.path}`, 'GET /v1/models');
      assert.equal(claudeList?.headers['x-api-key'], KEY);
      assert.equal(claudeList?.headers['anthropic-version'], '2023-06-01');
      assert.equal(claudeList?.headers.authorization, undefined);
      const [geminiList] = gemini.requests;
      assert.equal(`${geminiList?.method} ${geminiList?.path}`, 'GET /v1beta/models');
      assert.equal(geminiList?.headers['x-goog-api-key'], KEY);
      assert.equal(geminiList?.headers.authorization, undefined);
      const answer = await router.complete({ model: 'gemma-y', messages: [{ role: 'user', content: 'Hello' }], stream: false });
      assert.equal(answer.provider, 'Gem');
      assert.equal(gemini.requests.at(-1)?.path, '/v1beta/models/gemma-y:generateContent');
    } finally {
      delete process.env.LISTING_TEST_KEY;
      await anthropic.close();
      await gemini.close();
    }
  });
});

describe('models: auto lists chat models only', () => {
  test("a service's speech, image, embedding and moderation models are not served as chat models", async () => {
    const openai = await createEmulator({
      models: [
        'gpt-4o',
        'whisper-1',
        'tts-1-hd',
        'gpt-4o-mini-tts',
        'gpt-4o-transcribe',
        'gpt-4o-realtime-preview',
        'dall-e-3',
        'gpt-image-1',
        'text-embedding-3-small',
        'omni-moderation-latest',
        'davinci-002',
        'gpt-4o-audio-preview',
        'o4-mini',
      ],
    });
    const ollama = await createNativeEmulator({
      protocol: 'ollama',
      models: ['llama3.2:latest', 'nomic-embed-text:latest', 'mxbai-embed-large:latest', 'qwen3:8b'],
    });
    try {
      const router = routerOf([
        { name: 'Hosted', type: 'openai-compatible', baseUrl: `${openai.url}/v1`, models: 'auto' },
        { name: 'Local', type: 'ollama', baseUrl: ollama.url, models: 'auto' },
      ]);
      await router.refreshModels();
      const listed = (name: string): string[] | undefined => router.listProviders().find((provider) => provider.name === name)?.models;
      assert.deepEqual(listed('Hosted'), ['gpt-4o', 'gpt-4o-audio-preview', 'o4-mini']);
      assert.deepEqual(listed('Local'), ['llama3.2:latest', 'qwen3:8b']);
      await assert.rejects(router.complete({ model: 'whisper-1', messages: [{ role: 'user', content: 'x' }], stream: false }), { name: 'UnknownModelError' });
      assert.equal(openai.requests.filter((request) => request.path.endsWith('/chat/completions')).length, 0);
    } finally {
      await openai.close();
      await ollama.close();
    }
  });

  test('the ids of chat models the catalog names are kept', () => {
    for (const id of [
      'gpt-4o',
      'gpt-4.1-mini',
      'o4-mini',
      'claude-sonnet-4-5',
      'gemini-2.5-flash',
      'llama-3.3-70b-versatile',
      'deepseek-reasoner',
      'mistral-small-latest',
      'meta-llama/Llama-3.3-70B-Instruct-Turbo',
      'accounts/fireworks/models/llama-v3p3-70b-instruct',
      'grok-3-mini',
      'qwen3:8b',
      'openrouter/auto',
    ])
      assert.ok(isChatModelId(id), id);
    for (const id of [
      'whisper-large-v3',
      'distil-whisper-large-v3-en',
      'playai-tts',
      'mistral-embed',
      'gemini-embedding-001',
      'black-forest-labs/FLUX.1-schnell',
      'imagen-3.0-generate-002',
      'mistral-moderation-latest',
    ]) {
      assert.ok(!isChatModelId(id), id);
    }
  });
});

describe('models: auto on the OpenAI-compatible type', () => {
  let emulator: Emulator;
  after(async () => emulator?.close());

  test('a base URL ending in /v1 lists {baseUrl}/models; one without it, /v1/models beside its chat path', async () => {
    emulator = await createEmulator({ models: ['served-a', 'served-b'] });
    const router = routerOf([
      { name: 'WithV1', type: 'openai-compatible', baseUrl: `${emulator.url}/v1`, models: 'auto' },
      { name: 'Bare', type: 'openai-compatible', baseUrl: emulator.url, path: '/v1/chat/completions', models: 'auto' },
    ]);
    await router.refreshModels();
    const paths = emulator.requests.map((request) => `${request.method} ${request.path}`);
    assert.deepEqual(paths, ['GET /v1/models', 'GET /v1/models']);
    assert.deepEqual(router.listModels().find((model) => model.id === 'served-b')?.providers, ['WithV1', 'Bare']);
    const answer = await router.complete({ model: 'served-a', messages: [{ role: 'user', content: 'Hello' }], stream: false });
    assert.equal(answer.provider, 'WithV1');
  });

  test('a provider that needs a key is not asked without one, and is once the key is set', async () => {
    emulator.reset();
    delete process.env.LISTING_TEST_KEY;
    const router = routerOf([
      {
        name: 'Keyed',
        type: 'openai-compatible',
        baseUrl: `${emulator.url}/v1`,
        needsAuth: true,
        apiKeyEnv: 'LISTING_TEST_KEY',
        models: 'auto',
        modelRefreshMs: 1,
      },
    ]);
    await router.refreshModels();
    assert.equal(emulator.requests.length, 0);
    process.env.LISTING_TEST_KEY = 'listing-key-0012';
    try {
      await refreshUntil(router, () => modelIds(router).includes('served-a'));
      assert.equal(emulator.requests[0]?.headers.authorization, 'Bearer listing-key-0012');
    } finally {
      delete process.env.LISTING_TEST_KEY;
    }
  });

  test('a listing refused with a status keeps the provider routable by its own models and reports the error', async () => {
    const failures: unknown[] = [];
    const router = routerOf([{ name: 'Wrong', type: 'openai-compatible', baseUrl: `${emulator.url}/nowhere`, models: 'auto' }], (_provider, error) =>
      failures.push(error),
    );
    await router.refreshModels();
    assert.equal(failures.length, 1);
    assert.equal((failures[0] as { name?: string }).name, 'ProviderHttpError');
    assert.equal((failures[0] as { status?: number }).status, 404);
  });

  test('a hosted preset (Groq) serves its defaults and the models its service lists, asked with its key', async () => {
    emulator.reset();
    process.env.GROQ_API_KEY = 'gsk_listing_0014';
    process.env.G4F_GROQ_URL = `${emulator.url}/v1`;
    try {
      const router = kept(createRouterFromConfig({}));
      await router.refreshModels();
      const groq = router.listProviders().find((provider) => provider.name === 'Groq');
      assert.deepEqual(groq?.models, ['llama-3.3-70b-versatile', 'llama-3.1-8b-instant', 'served-a', 'served-b']);
      assert.equal(emulator.requests[0]?.path, '/v1/models');
      assert.equal(emulator.requests[0]?.headers.authorization, 'Bearer gsk_listing_0014');
    } finally {
      delete process.env.GROQ_API_KEY;
      delete process.env.G4F_GROQ_URL;
    }
  });

  test('g4f serve: /v1/models shows the listed models to the openai client', async () => {
    const server = await startServer({
      port: 0,
      quiet: true,
      web: false,
      config: { providers: [{ name: 'Listed', type: 'openai-compatible', baseUrl: `${emulator.url}/v1`, models: 'auto' }] },
    });
    try {
      const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
      let ids: string[] = [];
      for (let attempt = 0; attempt < 200 && !ids.includes('served-b'); attempt++) {
        ids = [];
        for await (const model of client.models.list()) ids.push(model.id);
      }
      assert.ok(ids.includes('served-a') && ids.includes('served-b'), ids.join(', '));
      const reply = await client.chat.completions.create({ model: 'served-b', messages: [{ role: 'user', content: 'Hi' }] });
      assert.equal(typeof reply.choices[0]?.message.content, 'string');
    } finally {
      await server.close();
    }
  });

  test('g4f serve logs a failed listing (model-list-failed) and keeps serving', async () => {
    let logged: (record: Record<string, unknown>) => void = () => undefined;
    const failed = new Promise<Record<string, unknown>>((resolve) => (logged = resolve));
    const server = await startServer({
      port: 0,
      web: false,
      logger: { log: (level, record) => void (record.event === 'model-list-failed' && logged({ level, ...record })) },
      config: { providers: [{ name: 'Broken', type: 'openai-compatible', baseUrl: `${emulator.url}/missing`, models: 'auto' }] },
    });
    try {
      const record = await failed;
      assert.equal(record.level, 'warn');
      assert.equal(record.provider, 'Broken');
      assert.match(String(record.error), /HTTP 404/);
      const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
      const ids: string[] = [];
      for await (const model of client.models.list()) ids.push(model.id);
      assert.ok(ids.includes('gpt-4'));
    } finally {
      await server.close();
    }
  });

  test('the config takes "auto" on every type, and refuses a bad interval', () => {
    for (const type of ['openai-compatible', 'anthropic', 'gemini', 'ollama'])
      parseConfig({ providers: [{ name: 'C', type, baseUrl: 'http://127.0.0.1:1', models: 'auto' }] });
    assert.throws(
      () => parseConfig({ providers: [{ name: 'O', type: 'ollama', baseUrl: 'http://127.0.0.1:1', models: 'auto', modelRefreshMs: 0 }] }),
      /modelRefreshMs/,
    );
  });
});
