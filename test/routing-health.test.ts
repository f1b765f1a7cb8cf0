/**
 * The circuit breaker per provider: open after N consecutive failures (skipped: its emulator sees
 * no request), one probe after the cool-down decides; and the health snapshots.
 */
import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { isG4FError } from '../src/core/errors.js';
import { createRuntime } from '../src/core/runtime.js';
import { createEmulator, type Emulator } from '../src/emulators/index.js';
import { createOpenAICompatibleProvider } from '../src/providers/index.js';
import { createRouter, type ProviderHealth, type Router } from '../src/routing/index.js';

const MESSAGES = [{ role: 'user' as const, content: 'hi' }];
const COOLDOWN_MS = 300;
let a: Emulator;
let b: Emulator;
let router: Router;
/** The breakers' clock: the tests move it past a cool-down instead of waiting for it. */
let clock = Date.now();
const runtime = createRuntime({ retry: { attempts: 1 } }, { now: () => clock });

before(async () => {
  [a, b] = await Promise.all([createEmulator({ defaultPlan: { text: 'from A' } }), createEmulator({ defaultPlan: { text: 'from B' } })]);
});
beforeEach(() => {
  a.reset();
  b.reset();
  router = createRouter({
    providers: [
      createOpenAICompatibleProvider({ name: 'A', url: `${a.url}/v1`, models: ['m'] }),
      createOpenAICompatibleProvider({ name: 'B', url: `${b.url}/v1`, models: ['m'] }),
    ],
    retry: { attempts: 1 },
    circuit: { failureThreshold: 3, cooldownMs: COOLDOWN_MS },
    runtime,
  });
});
after(async () => {
  await runtime.close();
  await Promise.all([a.close(), b.close()]);
});

async function ask(): Promise<{ text: string; provider: string; codes: string[] }> {
  const result = await router.complete({ model: 'm', messages: MESSAGES, stream: false });
  return { text: result.text, provider: result.provider, codes: result.attempts.map((x) => `${x.provider}:${x.error.code}`) };
}

/** Moves the router's clock to the end of the cool-down the snapshot announces. */
function untilProbe(health: ProviderHealth): void {
  assert.ok(health.retryAt !== undefined);
  assert.equal(Date.parse(health.retryAt), clock + COOLDOWN_MS, 'the cool-down runs on the runtime’s clock');
  clock = Date.parse(health.retryAt);
}

async function openA(): Promise<void> {
  a.enqueue({ status: 500 }, { status: 500 }, { status: 500 });
  for (let call = 0; call < 3; call++) assert.deepEqual(await ask(), { text: 'from B', provider: 'B', codes: ['A:http_status'] });
  assert.equal(a.requests.length, 3);
}

test('after N consecutive failures the provider is skipped for the cool-down', async () => {
  await openA();
  const health = router.health('A');
  assert.equal(health.state, 'open');
  assert.equal(health.consecutiveFailures, 3);
  assert.equal(health.lastError?.code, 'http_status');
  assert.match(health.lastError?.message ?? '', /HTTP 500/);
  assert.equal(health.retryAt, new Date(clock + COOLDOWN_MS).toISOString());
  assert.equal(health.successRate, 0);

  const skipped = await ask();
  assert.deepEqual(skipped, { text: 'from B', provider: 'B', codes: ['A:circuit_open'] });
  assert.equal(a.requests.length, 3, 'an open circuit sends nothing');
  await Promise.all([a.waitForIdle(), b.waitForIdle()]);
});

test('after the cool-down one probe decides: failure re-opens, success closes', async () => {
  await openA();
  untilProbe(router.health('A'));
  assert.equal(router.health('A').state, 'half-open');
  a.enqueue({ status: 503 });
  assert.deepEqual(await ask(), { text: 'from B', provider: 'B', codes: ['A:http_status'] });
  assert.equal(a.requests.length, 4, 'exactly one probe');
  assert.equal(router.health('A').state, 'open');
  assert.equal(router.health('A').consecutiveFailures, 4);
  assert.deepEqual(await ask(), { text: 'from B', provider: 'B', codes: ['A:circuit_open'] });
  assert.equal(a.requests.length, 4);

  untilProbe(router.health('A'));
  assert.deepEqual(await ask(), { text: 'from A', provider: 'A', codes: [] });
  const health = router.health('A');
  assert.equal(health.state, 'closed');
  assert.equal(health.consecutiveFailures, 0);
  assert.equal(health.calls, 5);
  assert.equal(health.successRate, 1 / 5);
  assert.equal(typeof health.latencyMs, 'number');
  assert.equal(health.retryAt, undefined);
  await Promise.all([a.waitForIdle(), b.waitForIdle()]);
});

test('half-open lets one probe at a time through', async () => {
  await openA();
  untilProbe(router.health('A'));
  a.enqueue({ text: 'from A', headerDelayMs: 200 });
  const [first, second] = await Promise.all([ask(), ask()]);
  assert.deepEqual(first, { text: 'from A', provider: 'A', codes: [] });
  assert.deepEqual(second, { text: 'from B', provider: 'B', codes: ['A:circuit_open'] });
  assert.equal(a.requests.length, 4);
  await Promise.all([a.waitForIdle(), b.waitForIdle()]);
});

test('a probe the caller leaves early (break after text) does not jam the breaker', async () => {
  await openA();
  untilProbe(router.health('A'));
  a.enqueue({ text: 'from A, slowly', chunkCount: 3, chunkDelayMs: 30 });
  for await (const chunk of router.stream({ model: 'm', messages: MESSAGES, stream: true })) {
    assert.equal(chunk.type, 'text-delta');
    break;
  }
  await a.waitForAbort(3);
  assert.equal(router.health('A').state, 'closed', 'the provider answered: the probe succeeded');
  assert.deepEqual(await ask(), { text: 'from A', provider: 'A', codes: [] });
  await Promise.all([a.waitForIdle(), b.waitForIdle()]);
});

test('a probe aborted before any answer frees the slot', async () => {
  await openA();
  untilProbe(router.health('A'));
  a.enqueue({ headerDelayMs: 2_000 });
  const controller = new AbortController();
  const call = router.complete({ model: 'm', messages: MESSAGES, stream: false, signal: controller.signal });
  await a.waitForRequests(4);
  controller.abort();
  await assert.rejects(call, (error: unknown) => isG4FError(error, 'AbortError'));
  assert.equal(router.health('A').state, 'half-open');
  assert.deepEqual(await ask(), { text: 'from A', provider: 'A', codes: [] });
  await Promise.all([a.waitForIdle(), b.waitForIdle()]);
});

test('listProviders carries each provider’s health; successes reset the failure count', async () => {
  a.enqueue({ status: 500 }, { status: 500 });
  await ask();
  await ask();
  assert.equal(router.health('a').consecutiveFailures, 2, 'names are case-insensitive');
  assert.deepEqual(await ask(), { text: 'from A', provider: 'A', codes: [] });
  const listed = router.listProviders();
  const healthA = listed.find((provider) => provider.name === 'A')?.health;
  assert.ok(healthA !== undefined);
  assert.equal(healthA.state, 'closed');
  assert.equal(healthA.consecutiveFailures, 0);
  assert.equal(healthA.calls, 3);
  assert.ok(Math.abs(healthA.successRate - 1 / 3) < 1e-9);
  assert.equal(healthA.lastError?.code, 'http_status');
  assert.equal(listed.find((provider) => provider.name === 'B')?.health.successRate, 1);
  assert.equal(listed.find((provider) => provider.name === 'B')?.url, `${b.url}/v1`);
  await Promise.all([a.waitForIdle(), b.waitForIdle()]);
});
