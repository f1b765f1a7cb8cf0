/**
 * Soak: thousands of calls with random faults (seeded, so a failure reproduces with the same
 * SOAK_SEED) across three emulated providers, streaming and not, with random early exits and
 * aborts. Every call ends with the exact full text or a typed error; text is never duplicated;
 * no connection stays open; the heap does not grow.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { isG4FError } from '../src/core/errors.js';
import { createEmulator, type Emulator, type Plan, type RecordedRequest } from '../src/emulators/index.js';
import { createOpenAICompatibleProvider } from '../src/providers/index.js';
import { createRouter, type Router } from '../src/routing/index.js';
import { createRuntime } from '../src/core/runtime.js';

/** The test's own settings, connection pools and clock. */
const runtime = createRuntime();

const SEED = Number(process.env.SOAK_SEED ?? 20240611);
const CALLS = 2_000;
const CONCURRENCY = 20;
const NAMES = ['A', 'B', 'C'] as const;

/** mulberry32: a small seeded PRNG. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}

function hash(...parts: Array<string | number>): number {
  let value = 2166136261;
  for (const character of parts.join('|')) value = Math.imul(value ^ character.charCodeAt(0), 16777619);
  return value >>> 0;
}

/** The fault of one request: a function of (seed, emulator, call, attempt), not of arrival order. */
function planFor(name: string, request: RecordedRequest, attempts: Map<string, number>): Plan {
  const body = request.body as { messages?: Array<{ content?: string }> };
  const call = /^call (\d+)/.exec(body.messages?.[0]?.content ?? '')?.[1] ?? 'x';
  const attempt = (attempts.get(call) ?? 0) + 1;
  attempts.set(call, attempt);
  const random = prng(hash(SEED, name, call, attempt));
  const base: Plan = { chunkCount: 1 + Math.floor(random() * 6), chunkDelayMs: random() < 0.3 ? 1 : 0 };
  const roll = random();
  const after = Math.floor(random() * 3);
  if (roll < 0.7) return base;
  if (roll < 0.73) return { ...base, status: 500 };
  if (roll < 0.76) return { ...base, status: 503 };
  if (roll < 0.79) return { ...base, status: 429, retryAfterMs: 5 };
  if (roll < 0.8) return { ...base, status: 429, retryAfter: 120 };
  if (roll < 0.85) return { ...base, disconnectAfterChunks: after };
  if (roll < 0.87) return { ...base, stallAfterChunks: after };
  if (roll < 0.91) return { ...base, malformedAfterChunks: after };
  if (roll < 0.93) return { ...base, headerDelayMs: 400 };
  if (roll < 0.96) return { ...base, modelNotFound: 'json' };
  if (roll < 0.98) return { ...base, invalidJson: true };
  return { ...base, status: 401 };
}

let emulators: Emulator[];
let router: Router;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};

function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  gc();
}

before(async () => {
  process.on('unhandledRejection', onUnhandled);
  emulators = await Promise.all(
    NAMES.map(async (name) => {
      const attempts = new Map<string, number>();
      return createEmulator({ script: (request) => planFor(name, request, attempts) });
    }),
  );
  router = createRouter({
    runtime,
    providers: NAMES.map((name, index) => createOpenAICompatibleProvider({ name, url: `${(emulators[index] as Emulator).url}/v1`, models: ['m'] })),
    retry: { attempts: 2, baseDelayMs: 2, maxDelayMs: 10, maxWaitMs: 200 },
    circuit: { failureThreshold: 6, cooldownMs: 30 },
    random: prng(SEED),
  });
});

after(async () => {
  process.off('unhandledRejection', onUnhandled);
  await runtime.close();
  await Promise.all(emulators.map((emulator) => emulator.close()));
});

interface Tally {
  full: number;
  typedErrors: Map<string, number>;
  earlyExits: number;
  aborts: number;
}

async function oneCall(index: number, tally: Tally): Promise<void> {
  const random = prng(hash(SEED, 'call', index));
  const content = `call ${index} ${'word '.repeat(Math.floor(random() * 8))}`.trim();
  const expected = `Echo: ${content}`;
  const streaming = random() < 0.6;
  const exitAfter = streaming && random() < 0.15 ? Math.floor(random() * 3) : undefined;
  const controller = random() < 0.04 ? new AbortController() : undefined;
  const abortTimer = controller ? setTimeout(() => controller.abort(), Math.floor(random() * 60)) : undefined;
  const request = {
    model: 'm',
    messages: [{ role: 'user' as const, content }],
    stream: streaming,
    timeouts: { connect: 2_000, firstToken: 150, idle: 150, total: 1_500 },
    ...(controller ? { signal: controller.signal } : {}),
  };
  let text = '';
  try {
    if (streaming) {
      let chunks = 0;
      let finished = false;
      for await (const chunk of router.stream(request)) {
        if (chunk.type === 'text-delta') {
          text += chunk.text;
          chunks++;
        }
        if (chunk.type === 'finish') finished = true;
        if (exitAfter !== undefined && chunks > exitAfter) {
          tally.earlyExits++;
          assert.ok(expected.startsWith(text), `call ${index}: ${JSON.stringify(text)} is not a prefix of ${JSON.stringify(expected)}`);
          return;
        }
      }
      assert.ok(finished, `call ${index}: a stream that ends without error has a finish chunk`);
    } else {
      text = (await router.complete(request)).text;
    }
    assert.equal(text, expected, `call ${index}: the exact full text`);
    tally.full++;
  } catch (error) {
    if (error instanceof assert.AssertionError) throw error;
    assert.ok(isG4FError(error), `call ${index}: untyped error ${String(error)}`);
    if (isG4FError(error, 'AbortError')) tally.aborts++;
    else assert.equal(controller?.signal.aborted ?? false, false, `call ${index}: an aborted call ends with AbortError, got ${error.name}`);
    assert.ok(expected.startsWith(text), `call ${index}: text before the error is a prefix, never replayed`);
    if (!streaming) assert.equal(text, '');
    tally.typedErrors.set(error.name, (tally.typedErrors.get(error.name) ?? 0) + 1);
  } finally {
    clearTimeout(abortTimer);
  }
}

async function runCalls(from: number, to: number, tally: Tally): Promise<void> {
  let next = from;
  const worker = async (): Promise<void> => {
    while (next < to) await oneCall(next++, tally);
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

async function settle(): Promise<number> {
  await Promise.all(emulators.map((emulator) => emulator.waitForIdle(10_000)));
  const requests = emulators.reduce((sum, emulator) => sum + emulator.requests.length, 0);
  for (const emulator of emulators) emulator.reset();
  return requests;
}

test(`soak: ${CALLS} calls with random faults (seed ${SEED})`, { timeout: 180_000 }, async () => {
  const tally: Tally = { full: 0, typedErrors: new Map(), earlyExits: 0, aborts: 0 };
  const warmup = 100;
  await runCalls(0, warmup, tally);
  await settle();
  collectGarbage();
  const heapBefore = process.memoryUsage().heapUsed;

  await runCalls(warmup, CALLS, tally);
  const requests = await settle();
  for (const emulator of emulators) assert.equal(emulator.openConnections(), 0);
  collectGarbage();
  const heapAfter = process.memoryUsage().heapUsed;

  if (process.env.SOAK_VERBOSE) console.log(tally, requests, heapBefore, heapAfter);
  const errors = [...tally.typedErrors.values()].reduce((sum, count) => sum + count, 0);
  assert.equal(tally.full + errors + tally.earlyExits, CALLS, 'every call ended one way or another');
  assert.ok(tally.full > CALLS / 2, `most calls succeed (${tally.full})`);
  assert.ok((tally.typedErrors.get('StreamInterruptedError') ?? 0) > 0, 'some streams were cut after text');
  assert.ok((tally.typedErrors.get('AllProvidersFailedError') ?? 0) > 0, 'some calls found no provider');
  assert.ok(tally.earlyExits > 0 && tally.aborts > 0);
  assert.ok(requests > CALLS - warmup, 'faults led to retries and fallbacks');
  assert.deepEqual(unhandled, [], 'no unhandled rejection');
  const growth = heapAfter - heapBefore;
  // About 2 MiB here; 6 MiB over ~1,900 calls catches a leak of ~3 KB per call.
  assert.ok(growth < 6 * 1024 * 1024, `heap grew by ${(growth / 1024 / 1024).toFixed(1)} MiB (${Math.round(growth / (CALLS - warmup))} bytes per call)`);
});
