/** The catalog of presets: off without their key (or URL), on with it, overridable, replaced by a config entry of the same name. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createRouterFromConfig, parseConfig } from '../src/config.js';
import { createEmulator, type Emulator } from '../src/emulators/index.js';
import { createNativeEmulator, type NativeEmulator } from '../src/emulators/native.js';
import { CATALOG, catalogStates } from '../src/providers/catalog.js';

/** Every preset's key variable and `G4F_<NAME>_URL`, saved and restored around the tests. */
const VARIABLES = [...new Set(CATALOG.flatMap((preset) => [...(preset.keyEnv === undefined ? [] : [preset.keyEnv]), `G4F_${preset.name.toUpperCase()}_URL`]))];

describe('the catalog', () => {
  let openai: Emulator;
  let ollama: NativeEmulator;
  const saved = new Map<string, string | undefined>();
  before(async () => {
    for (const name of VARIABLES) saved.set(name, process.env[name]);
    openai = await createEmulator({ protocol: 'openai' });
    ollama = await createNativeEmulator({ protocol: 'ollama' });
  });
  after(async () => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await Promise.all([openai.close(), ollama.close()]);
  });

  test('each preset is off without its key or URL, and says what turns it on', () => {
    const states = catalogStates({});
    assert.equal(states.length, CATALOG.length);
    assert.ok(states.every((state) => !state.enabled));
    assert.equal(states.find((state) => state.preset.name === 'Groq')?.reason, 'set GROQ_API_KEY');
    assert.equal(states.find((state) => state.preset.name === 'Ollama')?.reason, 'set G4F_OLLAMA_URL');
    for (const name of [
      'OpenAI',
      'Anthropic',
      'Gemini',
      'OpenRouter',
      'Groq',
      'DeepSeek',
      'Mistral',
      'Together',
      'Fireworks',
      'xAI',
      'Cerebras',
      'Ollama',
      'LMStudio',
      'LlamaCpp',
      'VLLM',
    ]) {
      assert.ok(
        CATALOG.some((preset) => preset.name === name),
        name,
      );
    }
  });

  test('a key enables a hosted preset; G4F_<NAME>_URL points it at a local emulator; the key is sent', async () => {
    for (const name of VARIABLES) delete process.env[name];
    process.env.GROQ_API_KEY = 'groq-test-key';
    process.env.G4F_GROQ_URL = `${openai.url}/v1`;
    const router = createRouterFromConfig({});
    assert.ok(router.listProviders().some((provider) => provider.name === 'Groq'));
    assert.ok(!router.listProviders().some((provider) => provider.name === 'OpenAI'), 'OpenAI stays off without its key');
    const result = await router.complete({ model: 'llama-3.1-8b-instant', messages: [{ role: 'user', content: 'hi' }], stream: false });
    assert.equal(result.provider, 'Groq');
    assert.equal(result.text, 'Echo: hi');
    assert.equal(openai.requests.at(-1)?.headers.authorization, 'Bearer groq-test-key');
  });

  test('a local preset is on with its URL, and serves any model pinned to it', async () => {
    for (const name of VARIABLES) delete process.env[name];
    process.env.G4F_OLLAMA_URL = ollama.url;
    const router = createRouterFromConfig({});
    const result = await router.complete({ model: 'Ollama/llama3.2', messages: [{ role: 'user', content: 'hi' }], stream: false });
    assert.equal(result.provider, 'Ollama');
    assert.equal(ollama.requests.at(-1)?.path, '/api/chat');
  });

  test('a configured provider of the same name replaces the preset', () => {
    for (const name of VARIABLES) delete process.env[name];
    process.env.OPENAI_API_KEY = 'openai-test-key';
    const router = createRouterFromConfig(
      parseConfig({ providers: [{ name: 'OpenAI', type: 'openai-compatible', baseUrl: `${openai.url}/v1`, models: ['my-model'] }] }),
    );
    const listed = router.listProviders().filter((provider) => provider.name === 'OpenAI');
    assert.equal(listed.length, 1);
    assert.deepEqual(listed[0]?.models, ['my-model']);
  });

  test('every preset answers through an emulator of its protocol at G4F_<NAME>_URL, its key sent where the protocol sends it', async () => {
    const anthropic = await createNativeEmulator({ protocol: 'anthropic' });
    const gemini = await createNativeEmulator({ protocol: 'gemini' });
    try {
      for (const preset of CATALOG) {
        for (const name of VARIABLES) delete process.env[name];
        const key = `${preset.name.toLowerCase()}-preset-key`;
        if (preset.keyEnv !== undefined) process.env[preset.keyEnv] = key;
        const emulator = { 'openai-compatible': openai, anthropic, gemini, ollama }[preset.protocol];
        // The OpenAI-compatible presets' base URLs end in /v1 (the chat path is /chat/completions).
        process.env[`G4F_${preset.name.toUpperCase()}_URL`] = preset.protocol === 'openai-compatible' ? `${emulator.url}/v1` : emulator.url;
        const before = emulator.requests.length;
        const router = createRouterFromConfig({});
        try {
          const model = preset.models[0] ?? 'local-model';
          const result = await router.complete({ model: `${preset.name}/${model}`, messages: [{ role: 'user', content: 'hi' }], stream: false });
          assert.equal(result.provider, preset.name);
          assert.equal(result.text, 'Echo: hi', preset.name);
          const request = emulator.requests.slice(before).find((recorded) => recorded.method === 'POST');
          assert.ok(request, `${preset.name} reached its emulator`);
          if (preset.keyEnv !== undefined) {
            const sent = {
              'openai-compatible': request.headers.authorization,
              anthropic: request.headers['x-api-key'],
              gemini: request.headers['x-goog-api-key'],
              ollama: request.headers.authorization,
            }[preset.protocol];
            assert.equal(sent, preset.protocol === 'openai-compatible' ? `Bearer ${key}` : key, preset.name);
          }
        } finally {
          await router.runtime.close();
        }
      }
    } finally {
      await Promise.all([anthropic.close(), gemini.close()]);
    }
  });
});
