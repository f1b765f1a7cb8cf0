/** Routing policy: empty answers fall back, a caller's bad request does not open a circuit, per-provider retry budgets. */
import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import { createOpenAICompatibleProvider, createRouter, createRuntime, isG4FError, type Router } from '../src/index.js';
import { createEmulator, type Emulator } from '../src/emulators/index.js';

const messages = [{ role: 'user' as const, content: 'hi' }];
let a: Emulator;
let b: Emulator;
/** The test's own settings and connections. */
const runtime = createRuntime();

function router(options: Parameters<typeof createRouter>[0] = {}): Router {
  return createRouter({
    runtime,
    providers: [
      createOpenAICompatibleProvider({ name: 'A', url: `${a.url}/v1`, models: ['m'] }),
      createOpenAICompatibleProvider({ name: 'B', url: `${b.url}/v1`, models: ['m'] }),
    ],
    retry: { baseDelayMs: 1, maxDelayMs: 5 },
    ...options,
  });
}

async function text(stream: AsyncIterable<{ type: string; text?: string }>): Promise<string> {
  let result = '';
  for await (const chunk of stream) if (chunk.type === 'text-delta') result += chunk.text;
  return result;
}

before(async () => {
  a = await createEmulator({ protocol: 'openai' });
  b = await createEmulator({ protocol: 'openai' });
});
beforeEach(() => {
  a.reset();
  b.reset();
  runtime.configure({});
});
after(async () => {
  await Promise.all([a.close(), b.close()]);
  await runtime.close();
});

test('an empty answer is not an answer: the next provider is tried, streaming and not', async () => {
  for (const stream of [true, false]) {
    a.reset();
    b.reset();
    a.enqueue({ chunks: [] });
    const route = router();
    const result = stream ? await text(route.stream({ model: 'm', messages, stream })) : (await route.complete({ model: 'm', messages, stream })).text;
    assert.equal(result, 'Echo: hi');
    assert.equal(a.requests.length, 1);
    assert.equal(b.requests.length, 1);
  }
});

test('empty everywhere: AllProvidersFailedError with empty_answer for each', async () => {
  a.enqueue({ chunks: [] });
  b.enqueue({ chunks: [] });
  await assert.rejects(text(router().stream({ model: 'm', messages, stream: true })), (error: unknown) => {
    assert.ok(isG4FError(error, 'AllProvidersFailedError'));
    assert.deepEqual(
      error.attempts.map((attempt) => [attempt.provider, attempt.error.code]),
      [
        ['A', 'empty_answer'],
        ['B', 'empty_answer'],
      ],
    );
    return true;
  });
});

test("a caller's request refused as invalid (400) does not open the circuit", async () => {
  const route = router({ circuit: { failureThreshold: 2, cooldownMs: 60_000 } });
  a.setDefaultPlan({ status: 400, errorMessage: 'max_tokens is too large' });
  b.setDefaultPlan({ status: 400, errorMessage: 'max_tokens is too large' });
  for (let index = 0; index < 4; index++) {
    await assert.rejects(text(route.stream({ model: 'm', messages, stream: true, maxTokens: 999_999 })));
  }
  a.setDefaultPlan({});
  b.setDefaultPlan({});
  assert.equal(route.health('A').state, 'closed');
  assert.equal(await text(route.stream({ model: 'm', messages, stream: true })), 'Echo: hi');
  assert.equal(a.requests.length, 5);
});

test('5xx failures do open it', async () => {
  const route = router({ circuit: { failureThreshold: 2, cooldownMs: 60_000 }, retry: { attempts: 1 } });
  a.setDefaultPlan({ status: 500 });
  for (let index = 0; index < 2; index++) assert.equal(await text(route.stream({ model: 'm', messages, stream: true })), 'Echo: hi');
  a.setDefaultPlan({});
  assert.equal(route.health('A').state, 'open');
  assert.equal(await text(route.stream({ model: 'm', messages, stream: true })), 'Echo: hi');
  assert.equal(a.requests.length, 2, 'A skipped while open');
});

test("a provider's own retry budget overrides the router's", async () => {
  runtime.configure({ providers: { A: { retry: { attempts: 4 } } } });
  a.failTimes(3, { status: 503 });
  assert.equal(await text(router({ retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 5 } }).stream({ model: 'm', messages, stream: true })), 'Echo: hi');
  assert.equal(a.requests.length, 4);
  assert.equal(b.requests.length, 0);
});

test('health latency is the time to the first chunk, not the whole answer', async () => {
  const route = router();
  a.enqueue({ chunkCount: 4, chunkDelayMs: 250 });
  const started = performance.now();
  assert.equal(await text(route.stream({ model: 'm', messages, stream: true })), 'Echo: hi');
  const whole = performance.now() - started;
  const latency = route.health('A').latencyMs;
  // Three 250 ms gaps come after the first chunk.
  assert.ok(latency !== undefined && latency <= whole - 700, `latency ${latency} ms of ${whole} ms`);
});
