/**
 * Fallback rules (never after the first text chunk; complete() starts over cleanly),
 * cancellation through every layer, and the model registry (aliases, pinning, listing).
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isG4FError } from '../src/core/errors.js';
import type { Chunk, Provider } from '../src/core/spec.js';
import { createEmulator, splitText, type Emulator } from '../src/emulators/index.js';
import { createOpenAICompatibleProvider, Lockchat } from '../src/providers/index.js';
import { createRouter, type Router } from '../src/routing/index.js';
import { createRuntime } from '../src/core/runtime.js';

/** The test's own settings, connection pools and clock. */
const runtime = createRuntime();

const MESSAGES = [{ role: 'user' as const, content: 'hello' }];
const LOCK_TEXT = 'Lockchat speaks in four parts.';
const B_TEXT = 'B answers the whole thing.';

let lock: Emulator;
let b: Emulator;
let providerB: Provider;

function lockRouter(attempts = 2): Router {
  return createRouter({
    runtime,
    providers: [Lockchat, providerB],
    models: { m: ['Lockchat', 'B'] },
    retry: { attempts, baseDelayMs: 5, maxDelayMs: 10, maxWaitMs: 5_000 },
    random: () => 0.5,
  });
}

before(async () => {
  lock = await createEmulator({ protocol: 'lockchat', defaultPlan: { text: LOCK_TEXT, chunkCount: 4 } });
  b = await createEmulator({ defaultPlan: { text: B_TEXT, chunkCount: 3 } });
  providerB = createOpenAICompatibleProvider({ name: 'B', url: `${b.url}/v1`, models: ['m'] });
});

beforeEach(() => {
  runtime.configure({ retry: { attempts: 1 } });
  runtime.configureProvider('Lockchat', { baseUrl: lock.url });
  lock.reset();
  b.reset();
});

after(async () => {
  await runtime.close();
  await Promise.all([lock.close(), b.close()]);
});

async function idle(): Promise<void> {
  await Promise.all([lock.waitForIdle(5_000), b.waitForIdle(5_000)]);
}

describe('fallback and the first text chunk', () => {
  test('stream: a cut after text ends with StreamInterruptedError, no fallback, no replay', async () => {
    lock.enqueue({ text: LOCK_TEXT, chunkCount: 4, disconnectAfterChunks: 2 });
    const stream = lockRouter().stream({ model: 'm', messages: MESSAGES, stream: true });
    const texts: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const chunk of stream) if (chunk.type === 'text-delta') texts.push(chunk.text);
      })(),
      (error: unknown) => isG4FError(error, 'StreamInterruptedError') && error.provider === 'Lockchat',
    );
    await idle();
    assert.deepEqual(texts, splitText(LOCK_TEXT, 4).slice(0, 2));
    assert.equal(stream.provider, 'Lockchat');
    assert.equal(lock.requests.length, 1, 'not retried after text');
    assert.equal(b.requests.length, 0, 'no fallback after text');
  });

  test('complete: a cut after text, then a retry of the same provider: its full text exactly once', async () => {
    lock.enqueue({ text: LOCK_TEXT, chunkCount: 4, disconnectAfterChunks: 2 });
    const result = await lockRouter().complete({ model: 'm', messages: MESSAGES, stream: false });
    await idle();
    assert.equal(result.text, LOCK_TEXT);
    assert.equal(result.provider, 'Lockchat');
    assert.equal(result.finishReason, 'stop');
    assert.equal(lock.requests.length, 2);
    assert.equal(b.requests.length, 0);
  });

  test('complete: cut after text twice, then the next provider: its full text only', async () => {
    lock.enqueue({ text: LOCK_TEXT, chunkCount: 4, disconnectAfterChunks: 3 }, { text: LOCK_TEXT, chunkCount: 4, malformedAfterChunks: 1 });
    const result = await lockRouter().complete({ model: 'm', messages: MESSAGES, stream: false });
    await idle();
    assert.equal(result.text, B_TEXT);
    assert.equal(result.provider, 'B');
    assert.deepEqual(
      result.attempts.map((attempt) => [attempt.provider, attempt.error.code]),
      [['Lockchat', 'stream_parse']],
    );
    assert.equal(lock.requests.length, 2);
  });

  test('the first chunk without text (role only) does not commit: fallback still happens', async () => {
    lock.enqueue({ text: LOCK_TEXT, disconnectAfterChunks: 0 }, { text: LOCK_TEXT, disconnectAfterChunks: 0 });
    const stream = lockRouter().stream({ model: 'm', messages: MESSAGES, stream: true });
    let text = '';
    for await (const chunk of stream) if (chunk.type === 'text-delta') text += chunk.text;
    await idle();
    assert.equal(text, B_TEXT);
    assert.equal(stream.provider, 'B');
    assert.equal(lock.requests.length, 2);
  });
});

describe('cancellation reaches every layer', () => {
  test('an abort during a retry sleep stops at once: no further request', async () => {
    b.enqueue({ status: 429, retryAfter: 3 });
    const router = createRouter({ runtime, providers: [providerB], retry: { attempts: 3, maxWaitMs: 10_000 } });
    const controller = new AbortController();
    b.on('response-end', () => setImmediate(() => controller.abort()));
    const started = performance.now();
    await assert.rejects(router.complete({ model: 'm', messages: MESSAGES, stream: false, signal: controller.signal }), (error: unknown) =>
      isG4FError(error, 'AbortError'),
    );
    assert.ok(performance.now() - started < 2_500, 'did not sleep out the Retry-After');
    await idle();
    assert.equal(b.requests.length, 1);
    assert.equal(router.health('B').state, 'closed');
  });

  test('an abort mid-stream closes the upstream connection', async () => {
    b.enqueue({ text: B_TEXT, chunkCount: 3, stallAfterChunks: 1 });
    const controller = new AbortController();
    const stream = createRouter({ runtime, providers: [providerB] }).stream({ model: 'm', messages: MESSAGES, stream: true, signal: controller.signal });
    const seen: Chunk[] = [];
    await assert.rejects(
      (async () => {
        for await (const chunk of stream) {
          seen.push(chunk);
          controller.abort();
        }
      })(),
      (error: unknown) => isG4FError(error, 'AbortError'),
    );
    const record = await b.waitForAbort(0);
    assert.equal(record.aborted, true);
    assert.deepEqual(seen, [{ type: 'text-delta', text: splitText(B_TEXT, 3)[0] }]);
    await idle();
  });

  test('breaking out of the loop closes the upstream connection', async () => {
    lock.enqueue({ text: LOCK_TEXT, chunkCount: 4, chunkDelayMs: 50 });
    const stream = lockRouter().stream({ model: 'm', messages: MESSAGES, stream: true });
    for await (const chunk of stream) {
      assert.equal(chunk.type, 'text-delta');
      break;
    }
    await lock.waitForAbort(0);
    await idle();
  });

  test('an already aborted signal sends nothing', async () => {
    const router = lockRouter();
    await assert.rejects(router.complete({ model: 'm', messages: MESSAGES, stream: false, signal: AbortSignal.abort() }), (error: unknown) =>
      isG4FError(error, 'AbortError'),
    );
    assert.equal(lock.requests.length + b.requests.length, 0);
  });
});

describe('model registry', () => {
  const fake = (name: string, models: string[], supportsStream = true): Provider => ({
    name,
    url: `http://127.0.0.1:9/${name}`,
    models,
    supportsStream,
    needsAuth: false,
    async *createCompletion() {
      yield { type: 'text-delta', text: `${name} says hi` };
    },
  });
  const router = createRouter({
    runtime,
    providers: [fake('One', ['alpha', 'beta']), fake('Two', ['beta']), fake('Still', ['gamma'], false)],
    models: { beta: ['Two', 'One'] },
    aliases: { b: 'beta', g: 'gamma' },
  });

  test('aliases resolve case-insensitively; routes keep their order', () => {
    assert.deepEqual(
      router.resolve('B').providers.map((provider) => provider.name),
      ['Two', 'One'],
    );
    assert.equal(router.resolve('B').model, 'beta');
    assert.equal(router.resolve('ALPHA').model, 'alpha');
  });

  test('provider/model pins one provider, even for a model it does not list', async () => {
    assert.deepEqual(
      router.resolve('one/beta').providers.map((provider) => provider.name),
      ['One'],
    );
    assert.equal(router.resolve('one/beta').model, 'beta');
    assert.equal(router.resolve('two/local-only').model, 'local-only');
    const result = await router.complete({ model: 'One/b', messages: MESSAGES, stream: false });
    assert.equal(result.provider, 'One');
    assert.equal(result.model, 'beta');
    const pinned = await router.complete({ model: 'beta', provider: 'one', messages: MESSAGES, stream: false });
    assert.equal(pinned.provider, 'One');
  });

  test('listing: every model with aliases and providers, every provider with models', () => {
    const models = router.listModels();
    assert.deepEqual(
      models.find((model) => model.id === 'beta'),
      { id: 'beta', aliases: ['b'], providers: ['Two', 'One'], capabilities: [] },
    );
    assert.deepEqual(
      models.find((model) => model.id === 'gamma'),
      { id: 'gamma', aliases: ['g'], providers: ['Still'], capabilities: [] },
    );
    const providers = router.listProviders();
    assert.deepEqual(
      providers.map((provider) => [provider.name, provider.models]),
      [
        ['One', ['alpha', 'beta']],
        ['Two', ['beta']],
        ['Still', ['gamma']],
      ],
    );
    assert.equal(providers[0]?.url, 'http://127.0.0.1:9/One');
    assert.equal(providers[0]?.health.state, 'closed');
  });

  test('an unknown model is a typed error that lists the known models', () => {
    assert.throws(
      () => router.resolve('delta'),
      (error: unknown) =>
        isG4FError(error, 'UnknownModelError') && ['alpha', 'beta', 'gamma'].every((id) => error.knownModels.includes(id) && error.message.includes(id)),
    );
    assert.throws(
      () => router.resolve('beta', 'Nobody'),
      (error: unknown) => isG4FError(error, 'UnknownProviderError'),
    );
  });

  test('a stream through an alias to a provider that cannot stream fails over the route, not as a pin', async () => {
    await assert.rejects(
      (async () => {
        for await (const chunk of router.stream({ model: 'g', messages: MESSAGES, stream: true })) void chunk;
      })(),
      (error: unknown) => isG4FError(error, 'AllProvidersFailedError') && error.attempts[0]?.error.code === 'unsupported',
    );
    await assert.rejects(
      (async () => {
        for await (const chunk of router.stream({ model: 'Still/gamma', messages: MESSAGES, stream: true })) void chunk;
      })(),
      (error: unknown) => isG4FError(error, 'UnsupportedError'),
    );
  });

  test('bad messages are refused before any request', async () => {
    await assert.rejects(
      router.complete({ model: 'alpha', messages: [{ role: 'robot', content: 'x' }] as never, stream: false }),
      (error: unknown) => isG4FError(error, 'InvalidRequestError') && error.param === 'messages[0].role',
    );
  });
});
