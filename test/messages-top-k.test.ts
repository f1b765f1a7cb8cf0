/**
 * The Messages door's `top_k` reaches every kind of provider in its own protocol's words, with
 * the official `@anthropic-ai/sdk` client: Anthropic's `top_k`, Ollama's `options.top_k`,
 * Gemini's `generationConfig.topK`, and an OpenAI-compatible upstream's `top_k`; after a
 * fallback, the next provider gets it too.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { parseConfig } from '../src/index.js';
import { createEmulator, type Emulator } from '../src/emulators/index.js';
import { createNativeEmulator, type NativeEmulator } from '../src/emulators/native.js';
import { startServer, type RunningServer } from '../src/server/index.js';

const KEY = 'sk-top-k-0011';
let anthropic: NativeEmulator;
let gemini: NativeEmulator;
let ollama: NativeEmulator;
let openai: Emulator;
let server: RunningServer;
let client: Anthropic;

before(async () => {
  process.env.TOP_K_TEST_KEY = KEY;
  [anthropic, gemini, ollama, openai] = await Promise.all([
    createNativeEmulator({ protocol: 'anthropic', apiKey: KEY }),
    createNativeEmulator({ protocol: 'gemini', apiKey: KEY }),
    createNativeEmulator({ protocol: 'ollama' }),
    createEmulator({ protocol: 'openai' }),
  ]);
  const config = parseConfig({
    providers: [
      { name: 'claude', type: 'anthropic', baseUrl: anthropic.url, apiKeyEnv: 'TOP_K_TEST_KEY', models: ['claude-k', 'fallback-k'] },
      { name: 'gem', type: 'gemini', baseUrl: gemini.url, apiKeyEnv: 'TOP_K_TEST_KEY', models: ['gemini-k'] },
      { name: 'local', type: 'ollama', baseUrl: ollama.url, models: ['ollama-k', 'fallback-k'] },
      { name: 'compat', type: 'openai-compatible', baseUrl: `${openai.url}/v1`, models: ['compat-k'] },
    ],
    retry: { attempts: 1 },
    circuit: { failureThreshold: 1_000 },
  });
  server = await startServer({ port: 0, quiet: true, web: false, config });
  client = new Anthropic({ baseURL: server.url, apiKey: 'unused', maxRetries: 0 });
});

after(async () => {
  await server?.close();
  await Promise.all([anthropic?.close(), gemini?.close(), ollama?.close(), openai?.close()]);
  delete process.env.TOP_K_TEST_KEY;
});

const ask = (model: string, stream: boolean) => {
  const params = { model, max_tokens: 50, top_k: 7, messages: [{ role: 'user' as const, content: 'hi' }] };
  return stream ? client.messages.stream(params).finalMessage() : client.messages.create(params);
};

type Body = Record<string, unknown>;
const lastBody = (emulator: { requests: ReadonlyArray<{ body: unknown }> }): Body => emulator.requests.at(-1)?.body as Body;

describe('top_k through the Messages door', () => {
  for (const stream of [false, true]) {
    test(`each protocol receives it in its own words (${stream ? 'streamed' : 'whole'})`, async () => {
      await ask('claude-k', stream);
      assert.equal(lastBody(anthropic).top_k, 7);
      await ask('gemini-k', stream);
      assert.equal((lastBody(gemini).generationConfig as Body | undefined)?.topK, 7);
      await ask('ollama-k', stream);
      assert.equal((lastBody(ollama).options as Body | undefined)?.top_k, 7);
      await ask('compat-k', stream);
      assert.equal(lastBody(openai).top_k, 7);
    });
  }

  test('after a fallback the next provider gets it too', async () => {
    anthropic.enqueue({ status: 500 });
    const before = ollama.requests.length;
    const message = await ask('fallback-k', false);
    assert.equal(message.content[0]?.type, 'text');
    assert.equal(ollama.requests.length, before + 1);
    assert.equal(lastBody(anthropic).top_k, 7);
    assert.equal((lastBody(ollama).options as Body | undefined)?.top_k, 7);
  });
});
