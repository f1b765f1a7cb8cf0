/**
 * The fault matrix: every fault of the emulators against a model served by three emulated
 * providers (A, B, C), streaming and not, with the exact outcome: who answered, how many requests
 * each emulator saw, and which error each failed provider left in the attempts list.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { isG4FError, type G4FError, type ProviderAttempt } from '../src/core/errors.js';
import type { Timeouts } from '../src/core/spec.js';
import { createEmulator, splitText, type Emulator, type Plan } from '../src/emulators/index.js';
import { createOpenAICompatibleProvider, Lockchat } from '../src/providers/index.js';
import { createRouter, type Router } from '../src/routing/index.js';
import { createRuntime } from '../src/core/runtime.js';

/** The test's own settings, connection pools and clock. */
const runtime = createRuntime();

const NAMES = ['A', 'B', 'C'] as const;
type Name = (typeof NAMES)[number];
const TEXT: Record<Name, string> = {
  A: 'Answer from A: alpha, in five pieces.',
  B: 'Answer from B: bravo, in five pieces.',
  C: 'Answer from C: charlie, in five pieces.',
};
const MESSAGES = [{ role: 'user' as const, content: 'hello' }];
const TIMEOUTS: Partial<Timeouts> = { connect: 2_000, firstToken: 400, idle: 200, total: 600 };
/**
 * undici's body timeout (the idle timer) has a coarse resolution (its fast timers tick every
 * 500 ms or so): rows that end by the idle timer give the other timers a wide margin.
 */
const IDLE_WINS: Partial<Timeouts> = { connect: 2_000, firstToken: 4_000, idle: 200, total: 4_000 };

let emulators: Record<Name, Emulator>;
let deadUrl: string;

/** A URL on a port that was just closed: connection refused. */
async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${address.port}/v1`;
}

function newRouter(providers = NAMES.map((name) => createOpenAICompatibleProvider({ name, url: `${emulators[name].url}/v1`, models: ['m'] }))): Router {
  return createRouter({
    runtime,
    providers,
    retry: { attempts: 2, baseDelayMs: 5, maxDelayMs: 10, maxWaitMs: 1_000 },
    circuit: { failureThreshold: 100, cooldownMs: 60_000 },
    random: () => 0.5,
  });
}

/** A fault plan of one emulator: its own text, so a wrong answer shows whose it was. */
const of = (name: Name, fault: Plan): Plan => ({ text: TEXT[name], chunkCount: 5, ...fault });

interface Expected {
  /** The provider whose answer is returned, or undefined when the call fails. */
  answered?: Name | 'Lockchat';
  /** Requests each emulator saw: A, B, C. */
  requests: [number, number, number];
  /** Failed attempts: provider, error code, status when there is one. */
  attempts: Array<[string, string, number?]>;
  /** The error's name when the call fails. */
  error?: string;
  /** The streamed text before an interruption. */
  partial?: string;
  /** A timeout's phase, for the first attempt. */
  phase?: string;
}

interface Row {
  name: string;
  /** Plans queued on each emulator. */
  faults: Partial<Record<Name, Plan[]>>;
  /** A connects to a closed port instead of its emulator. */
  refusedA?: boolean;
  timeouts?: Partial<Timeouts>;
  stream: Expected;
  complete: Expected;
}

const two = (plan: Plan): Plan[] => [plan, plan];

const ROWS: Row[] = [
  {
    name: 'no fault',
    faults: {},
    stream: { answered: 'A', requests: [1, 0, 0], attempts: [] },
    complete: { answered: 'A', requests: [1, 0, 0], attempts: [] },
  },
  {
    name: 'connection refused (closed port), retried once',
    faults: {},
    refusedA: true,
    stream: { answered: 'B', requests: [0, 1, 0], attempts: [['A', 'connection']] },
    complete: { answered: 'B', requests: [0, 1, 0], attempts: [['A', 'connection']] },
  },
  {
    name: 'reset before the first chunk, twice',
    faults: { A: two(of('A', { disconnectAfterChunks: 0 })) },
    stream: { answered: 'B', requests: [2, 1, 0], attempts: [['A', 'connection']] },
    complete: { answered: 'B', requests: [2, 1, 0], attempts: [['A', 'connection']] },
  },
  {
    name: 'reset before the first chunk once, then an answer from the same provider',
    faults: { A: [of('A', { disconnectAfterChunks: 0 })] },
    stream: { answered: 'A', requests: [2, 0, 0], attempts: [] },
    complete: { answered: 'A', requests: [2, 0, 0], attempts: [] },
  },
  {
    name: 'HTTP 500, twice',
    faults: { A: two(of('A', { status: 500 })) },
    stream: { answered: 'B', requests: [2, 1, 0], attempts: [['A', 'http_status', 500]] },
    complete: { answered: 'B', requests: [2, 1, 0], attempts: [['A', 'http_status', 500]] },
  },
  {
    name: 'HTTP 503 on A and B, twice each',
    faults: { A: two(of('A', { status: 503 })), B: two(of('B', { status: 503 })) },
    stream: {
      answered: 'C',
      requests: [2, 2, 1],
      attempts: [
        ['A', 'http_status', 503],
        ['B', 'http_status', 503],
      ],
    },
    complete: {
      answered: 'C',
      requests: [2, 2, 1],
      attempts: [
        ['A', 'http_status', 503],
        ['B', 'http_status', 503],
      ],
    },
  },
  {
    name: 'HTTP 429 without Retry-After, twice',
    faults: { A: two(of('A', { status: 429 })) },
    stream: { answered: 'B', requests: [2, 1, 0], attempts: [['A', 'rate_limit', 429]] },
    complete: { answered: 'B', requests: [2, 1, 0], attempts: [['A', 'rate_limit', 429]] },
  },
  {
    name: 'HTTP 429 with retry-after-ms 30 once, then an answer',
    faults: { A: [of('A', { status: 429, retryAfterMs: 30 })] },
    stream: { answered: 'A', requests: [2, 0, 0], attempts: [] },
    complete: { answered: 'A', requests: [2, 0, 0], attempts: [] },
  },
  {
    name: 'HTTP 429 with Retry-After above the cap: the next provider at once',
    faults: { A: [of('A', { status: 429, retryAfter: 60 })] },
    stream: { answered: 'B', requests: [1, 1, 0], attempts: [['A', 'rate_limit', 429]] },
    complete: { answered: 'B', requests: [1, 1, 0], attempts: [['A', 'rate_limit', 429]] },
  },
  {
    name: 'model not found (OpenAI 404): not retried',
    faults: { A: [of('A', { modelNotFound: 'json' })] },
    stream: { answered: 'B', requests: [1, 1, 0], attempts: [['A', 'model_not_found']] },
    complete: { answered: 'B', requests: [1, 1, 0], attempts: [['A', 'model_not_found']] },
  },
  {
    name: 'headers later than the first-token (stream) or total (complete) timer',
    faults: { A: [of('A', { headerDelayMs: 1_500 })] },
    stream: { answered: 'B', requests: [1, 1, 0], attempts: [['A', 'timeout']], phase: 'first-token' },
    complete: { answered: 'B', requests: [1, 1, 0], attempts: [['A', 'timeout']], phase: 'total' },
  },
  {
    name: 'first text later than the first-token timer, with keep-alives',
    timeouts: { connect: 2_000, firstToken: 400, idle: 5_000, total: 600 },
    faults: { A: [of('A', { firstChunkDelayMs: 1_500, keepAlive: true, stallAfterChunks: 0, keepAliveIntervalMs: 50 })] },
    stream: { answered: 'B', requests: [1, 1, 0], attempts: [['A', 'timeout']], phase: 'first-token' },
    complete: { answered: 'B', requests: [1, 1, 0], attempts: [['A', 'timeout']], phase: 'total' },
  },
  {
    name: 'stall before the first chunk',
    timeouts: IDLE_WINS,
    faults: { A: [of('A', { stallAfterChunks: 0 })] },
    stream: { answered: 'B', requests: [1, 1, 0], attempts: [['A', 'timeout']], phase: 'idle' },
    complete: { answered: 'B', requests: [1, 1, 0], attempts: [['A', 'timeout']], phase: 'idle' },
  },
  {
    name: 'malformed JSON before the first chunk',
    faults: { A: [of('A', { malformedAfterChunks: 0 })] },
    stream: { answered: 'B', requests: [1, 1, 0], attempts: [['A', 'stream_parse']] },
    complete: { answered: 'B', requests: [1, 1, 0], attempts: [['A', 'stream_parse']] },
  },
  {
    name: 'disconnect mid-stream after text: cut, never replayed (complete() starts over)',
    faults: { A: [of('A', { disconnectAfterChunks: 2 })] },
    stream: { requests: [1, 0, 0], attempts: [], error: 'StreamInterruptedError', partial: splitText(TEXT.A, 5).slice(0, 2).join('') },
    complete: { answered: 'A', requests: [2, 0, 0], attempts: [] },
  },
  {
    name: 'stall mid-stream after text: cut by the idle timer',
    timeouts: IDLE_WINS,
    faults: { A: [of('A', { stallAfterChunks: 2 })] },
    stream: { requests: [1, 0, 0], attempts: [], error: 'StreamInterruptedError', partial: splitText(TEXT.A, 5).slice(0, 2).join('') },
    complete: { answered: 'B', requests: [1, 1, 0], attempts: [['A', 'timeout']], phase: 'idle' },
  },
  {
    name: 'malformed JSON mid-stream after text',
    faults: { A: [of('A', { malformedAfterChunks: 3 })] },
    stream: { requests: [1, 0, 0], attempts: [], error: 'StreamInterruptedError', partial: splitText(TEXT.A, 5).slice(0, 3).join('') },
    complete: { answered: 'B', requests: [1, 1, 0], attempts: [['A', 'stream_parse']] },
  },
  {
    name: 'every provider fails',
    faults: { A: two(of('A', { status: 500 })), B: [of('B', { status: 429, retryAfter: 60 })], C: [of('C', { status: 401 })] },
    stream: {
      requests: [2, 1, 1],
      attempts: [
        ['A', 'http_status', 500],
        ['B', 'rate_limit', 429],
        ['C', 'auth', 401],
      ],
      error: 'AllProvidersFailedError',
    },
    complete: {
      requests: [2, 1, 1],
      attempts: [
        ['A', 'http_status', 500],
        ['B', 'rate_limit', 429],
        ['C', 'auth', 401],
      ],
      error: 'AllProvidersFailedError',
    },
  },
];

function describeAttempts(attempts: readonly ProviderAttempt[]): Array<[string, string, number?]> {
  return attempts.map(({ provider, error }) => {
    const status = 'status' in error && typeof error.status === 'number' ? error.status : undefined;
    return status === undefined ? [provider, error.code] : [provider, error.code, status];
  });
}

interface Outcome {
  text: string;
  provider: string | undefined;
  attempts: readonly ProviderAttempt[];
  error: G4FError | undefined;
}

async function runStream(router: Router, model = 'm', timeouts = TIMEOUTS): Promise<Outcome> {
  const stream = router.stream({ model, messages: MESSAGES, stream: true, timeouts });
  let text = '';
  let error: G4FError | undefined;
  try {
    for await (const chunk of stream) if (chunk.type === 'text-delta') text += chunk.text;
  } catch (thrown) {
    assert.ok(isG4FError(thrown), `untyped error: ${String(thrown)}`);
    error = thrown;
  }
  return { text, provider: stream.provider, attempts: stream.attempts, error };
}

async function runComplete(router: Router, model = 'm', timeouts = TIMEOUTS): Promise<Outcome> {
  try {
    const result = await router.complete({ model, messages: MESSAGES, stream: false, timeouts });
    return { text: result.text, provider: result.provider, attempts: result.attempts, error: undefined };
  } catch (thrown) {
    assert.ok(isG4FError(thrown), `untyped error: ${String(thrown)}`);
    const attempts = isG4FError(thrown, 'AllProvidersFailedError') ? thrown.attempts : [];
    return { text: '', provider: undefined, attempts, error: thrown };
  }
}

function check(outcome: Outcome, expected: Expected, counts: number[], texts: Record<string, string>): void {
  assert.deepEqual(counts, expected.requests, 'requests seen by A, B, C');
  if (expected.answered !== undefined) {
    assert.equal(outcome.error, undefined, `unexpected error: ${outcome.error?.message}`);
    assert.equal(outcome.provider, expected.answered);
    assert.equal(outcome.text, texts[expected.answered], 'the full text of one provider, exactly once');
    assert.deepEqual(describeAttempts(outcome.attempts), expected.attempts);
  } else {
    assert.ok(outcome.error !== undefined, 'the call should fail');
    assert.equal(outcome.error.name, expected.error);
    if (isG4FError(outcome.error, 'AllProvidersFailedError')) {
      assert.deepEqual(describeAttempts(outcome.error.attempts), expected.attempts);
      for (const [provider, code] of expected.attempts) {
        assert.match(outcome.error.message, new RegExp(`${provider} \\(${code}`), 'the message lists each provider');
      }
    } else {
      assert.deepEqual(describeAttempts(outcome.attempts), expected.attempts);
    }
    if (expected.partial !== undefined) assert.equal(outcome.text, expected.partial, 'text before the cut, not replayed');
  }
  if (expected.phase !== undefined) {
    const first = outcome.attempts[0]?.error;
    assert.ok(isG4FError(first, 'TimeoutError'), `a timeout, got ${first?.name}`);
    assert.equal(first.phase, expected.phase);
  }
}

before(async () => {
  const started = await Promise.all(NAMES.map((name) => createEmulator({ defaultPlan: { text: TEXT[name], chunkCount: 5 } })));
  emulators = { A: started[0] as Emulator, B: started[1] as Emulator, C: started[2] as Emulator };
  deadUrl = await closedPortUrl();
});

after(async () => {
  await runtime.close();
  await Promise.all(NAMES.map((name) => emulators[name].close()));
});

async function prepare(row: Row): Promise<void> {
  runtime.configure({});
  if (row.refusedA) runtime.configureProvider('A', { baseUrl: deadUrl });
  for (const name of NAMES) {
    emulators[name].reset();
    emulators[name].enqueue(...(row.faults[name] ?? []));
  }
}

async function settle(): Promise<number[]> {
  await Promise.all(NAMES.map((name) => emulators[name].waitForIdle(5_000)));
  return NAMES.map((name) => emulators[name].requests.length);
}

describe('fault matrix, A → B → C', () => {
  for (const row of ROWS) {
    test(`stream: ${row.name}`, async () => {
      await prepare(row);
      const outcome = await runStream(newRouter(), 'm', row.timeouts);
      check(outcome, row.stream, await settle(), TEXT);
      if (row.stream.error === 'StreamInterruptedError') {
        assert.ok(isG4FError(outcome.error, 'StreamInterruptedError'));
        assert.equal(outcome.error.provider, 'A');
        assert.equal(outcome.provider, 'A');
        if (row.timeouts === IDLE_WINS) {
          const cause: unknown = outcome.error.cause;
          assert.ok(isG4FError(cause, 'TimeoutError'), 'cut by a timer');
          assert.equal(cause.phase, 'idle');
        }
      }
    });
    test(`complete: ${row.name}`, async () => {
      await prepare(row);
      const outcome = await runComplete(newRouter(), 'm', row.timeouts);
      check(outcome, row.complete, await settle(), TEXT);
    });
  }
});

describe('Lockchat model-not-found, retried inside the provider (bounded), then the next provider', () => {
  const lockText = 'Lockchat answers after all.';
  let lock: Emulator;
  before(async () => {
    lock = await createEmulator({ protocol: 'lockchat', defaultPlan: { text: lockText, chunkCount: 4 } });
  });
  after(() => lock.close());

  const lockRouter = (): Router =>
    newRouter([Lockchat, ...(['B', 'C'] as const).map((name) => createOpenAICompatibleProvider({ name, url: `${emulators[name].url}/v1`, models: ['m'] }))]);

  const cases: Array<{ name: string; times: number; framing: 'line' | 'data' | 'json'; answered: 'Lockchat' | 'B'; lockRequests: number }> = [
    { name: 'twice (bare line), then an answer', times: 2, framing: 'line', answered: 'Lockchat', lockRequests: 3 },
    { name: 'three times (data event): the budget is spent', times: 3, framing: 'data', answered: 'B', lockRequests: 3 },
    { name: 'three times (404 JSON): the budget is spent', times: 3, framing: 'json', answered: 'B', lockRequests: 3 },
  ];
  for (const mode of ['stream', 'complete'] as const) {
    for (const item of cases) {
      test(`${mode}: ${item.name}`, async () => {
        runtime.configure({ retry: { attempts: 3, baseDelayMs: 5, maxDelayMs: 10 } });
        runtime.configureProvider('Lockchat', { baseUrl: lock.url });
        lock.reset();
        lock.failTimes(item.times, { modelNotFound: item.framing });
        for (const name of NAMES) emulators[name].reset();
        const router = lockRouter();
        const models = ['m'];
        const outcome = mode === 'stream' ? await runStream(router, 'Lockchat/m') : await runComplete(router, 'Lockchat/m');
        // Pinned: only Lockchat. Then the same through the route m → Lockchat, B, C.
        assert.equal(lock.requests.length, item.lockRequests);
        if (item.answered === 'Lockchat') {
          assert.equal(outcome.provider, 'Lockchat');
          assert.equal(outcome.text, lockText);
        } else {
          assert.ok(isG4FError(outcome.error, 'AllProvidersFailedError'), `got ${outcome.error?.name}`);
          const only = outcome.error.attempts[0]?.error;
          assert.ok(isG4FError(only, 'ModelNotFoundError'), `got ${only?.name}`);
          assert.equal(only.attempts, 3);
        }
        lock.reset();
        lock.failTimes(item.times, { modelNotFound: item.framing });
        const routed = createRouter({
          runtime,
          providers: [Lockchat, ...(['B', 'C'] as const).map((name) => createOpenAICompatibleProvider({ name, url: `${emulators[name].url}/v1`, models }))],
          models: { m: ['Lockchat', 'B', 'C'] },
          retry: { attempts: 2, baseDelayMs: 5, maxDelayMs: 10, maxWaitMs: 1_000 },
        });
        const second = mode === 'stream' ? await runStream(routed) : await runComplete(routed);
        await Promise.all([lock.waitForIdle(5_000), ...NAMES.map((name) => emulators[name].waitForIdle(5_000))]);
        assert.equal(lock.requests.length, item.lockRequests, 'Lockchat retried inside, not again by the router');
        assert.equal(second.provider, item.answered);
        assert.equal(second.text, item.answered === 'Lockchat' ? lockText : TEXT.B);
        assert.deepEqual(describeAttempts(second.attempts), item.answered === 'B' ? [['Lockchat', 'model_not_found']] : []);
        assert.equal(emulators.B.requests.length, item.answered === 'B' ? 1 : 0);
        assert.equal(emulators.C.requests.length, 0);
      });
    }
  }
});
