/**
 * The four timers and Retry-After, proven with the emulators' delays: idle, first token,
 * connect, total; a 429 with `Retry-After: 1` waited once; a wait above the cap moves on.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { isG4FError, type G4FError } from '../src/core/errors.js';
import type { Timeouts } from '../src/core/spec.js';
import { createEmulator, type Emulator } from '../src/emulators/index.js';
import { createOpenAICompatibleProvider } from '../src/providers/index.js';
import { createRouter, type Router } from '../src/routing/index.js';
import { createRuntime } from '../src/core/runtime.js';

/** The test's own settings, connection pools and clock. */
const runtime = createRuntime();

const MESSAGES = [{ role: 'user' as const, content: 'hello' }];
let a: Emulator;
let b: Emulator;

function router(url = `${a.url}/v1`): Router {
  return createRouter({
    runtime,
    providers: [
      createOpenAICompatibleProvider({ name: 'A', url, models: ['m'] }),
      createOpenAICompatibleProvider({ name: 'B', url: `${b.url}/v1`, models: ['m'] }),
    ],
    retry: { attempts: 3, baseDelayMs: 5, maxDelayMs: 10, maxWaitMs: 2_000 },
    random: () => 0.5,
  });
}

/** The error of a call pinned to A (the only attempt), or of its cut stream. */
async function failure(call: () => AsyncIterable<unknown> | Promise<unknown>): Promise<G4FError> {
  try {
    const result = call();
    if (Symbol.asyncIterator in (result as object)) for await (const chunk of result as AsyncIterable<unknown>) void chunk;
    else await result;
  } catch (error) {
    assert.ok(isG4FError(error), String(error));
    if (isG4FError(error, 'AllProvidersFailedError')) {
      assert.equal(error.attempts.length, 1);
      return (error.attempts[0] as { error: G4FError }).error;
    }
    if (isG4FError(error, 'StreamInterruptedError') && isG4FError(error.cause)) return error.cause;
    return error;
  }
  assert.fail('the call should fail');
}

function assertTimeout(error: G4FError, phase: string, timeoutMs: number): void {
  assert.ok(isG4FError(error, 'TimeoutError'), `a TimeoutError, got ${error.name}: ${error.message}`);
  assert.equal(error.phase, phase);
  assert.equal(error.timeoutMs, timeoutMs);
  assert.equal(error.provider, 'A');
}

before(async () => {
  [a, b] = await Promise.all([createEmulator(), createEmulator()]);
});
beforeEach(() => {
  runtime.configure({});
  a.reset();
  b.reset();
});
after(async () => {
  await runtime.close();
  await Promise.all([a.close(), b.close()]);
});

async function idle(): Promise<void> {
  await Promise.all([a.waitForIdle(5_000), b.waitForIdle(5_000)]);
}

describe('timers', () => {
  test('a stream stalled after text ends by the idle timer', async () => {
    a.enqueue({ stallAfterChunks: 2 });
    const timeouts = { firstToken: 10_000, idle: 300, total: 10_000 };
    const started = performance.now();
    const error = await failure(() => router().stream({ model: 'A/m', messages: MESSAGES, stream: true, timeouts }));
    assertTimeout(error, 'idle', 300);
    assert.ok(performance.now() - started < 5_000);
    await idle();
    assert.equal(a.requests[0]?.outcome, 'aborted', 'the upstream connection was closed');
  });

  test('a stream stalled before text ends by the idle timer, then falls back', async () => {
    a.enqueue({ stallAfterChunks: 0 });
    const stream = router().stream({ model: 'm', messages: MESSAGES, stream: true, timeouts: { firstToken: 10_000, idle: 300 } });
    let text = '';
    for await (const chunk of stream) if (chunk.type === 'text-delta') text += chunk.text;
    assert.equal(text, 'Echo: hello');
    assert.equal(stream.provider, 'B');
    const first = stream.attempts[0]?.error;
    assert.ok(first !== undefined);
    assertTimeout(first, 'idle', 300);
    await idle();
  });

  test('a slow first token (keep-alives flowing) ends by the first-token timer', async () => {
    a.enqueue({ firstChunkDelayMs: 4_000, stallAfterChunks: 0, keepAliveIntervalMs: 50 });
    const started = performance.now();
    const error = await failure(() => router().stream({ model: 'A/m', messages: MESSAGES, stream: true, timeouts: { firstToken: 300, idle: 10_000 } }));
    assertTimeout(error, 'first-token', 300);
    assert.ok(performance.now() - started < 3_000, 'did not wait for the upstream');
    await idle();
  });

  test('headers later than the first-token timer', async () => {
    a.enqueue({ headerDelayMs: 4_000 });
    const error = await failure(() => router().stream({ model: 'A/m', messages: MESSAGES, stream: true, timeouts: { firstToken: 250 } }));
    assertTimeout(error, 'first-token', 250);
    await idle();
  });

  test('the total timer ends a slow non-streaming call, even while bytes flow', async () => {
    a.enqueue({ firstChunkDelayMs: 4_000 });
    const error = await failure(() =>
      router().complete({ model: 'A/m', messages: MESSAGES, stream: false, timeouts: { total: 300, firstToken: 100, idle: 10_000 } }),
    );
    assertTimeout(error, 'total', 300);
    await idle();
  });

  test('a non-streaming call slower than the first-token timer but within total succeeds', async () => {
    a.enqueue({ headerDelayMs: 400 });
    const result = await router().complete({
      model: 'A/m',
      messages: MESSAGES,
      stream: false,
      timeouts: { firstToken: 100, total: 5_000 },
    });
    assert.equal(result.text, 'Echo: hello');
    await idle();
  });

  test('precedence: call over provider over global over defaults', async () => {
    runtime.configure({ timeouts: { firstToken: 5_000 } });
    runtime.configureProvider('A', { timeouts: { firstToken: 200 } });
    a.enqueue({ headerDelayMs: 3_000 }, { headerDelayMs: 3_000 });
    assertTimeout(await failure(() => router().stream({ model: 'A/m', messages: MESSAGES, stream: true })), 'first-token', 200);
    const call: Partial<Timeouts> = { firstToken: 150 };
    assertTimeout(await failure(() => router().stream({ model: 'A/m', messages: MESSAGES, stream: true, timeouts: call })), 'first-token', 150);
    await idle();
  });

  test('connect timeout against a listener whose backlog is full', async (context) => {
    const listener = await fullBacklog();
    if (listener === undefined) {
      context.skip('python3 is not available to hold a listening socket that never accepts');
      return;
    }
    try {
      const started = performance.now();
      const error = await failure(() =>
        router(`http://127.0.0.1:${listener.port}/v1`).complete({
          model: 'A/m',
          messages: MESSAGES,
          stream: false,
          timeouts: { connect: 300, total: 10_000 },
        }),
      );
      assertTimeout(error, 'connect', 300);
      assert.ok(performance.now() - started < 5_000);
    } finally {
      for (const socket of listener.sockets) socket.destroy();
      listener.child.kill();
    }
  });
});

describe('Retry-After', () => {
  test('429 with Retry-After: 1 is waited once, then answered: exactly two requests', async () => {
    a.enqueue({ status: 429, retryAfter: 1 });
    const result = await router().complete({ model: 'm', messages: MESSAGES, stream: false });
    assert.equal(result.provider, 'A');
    assert.equal(result.text, 'Echo: hello');
    await idle();
    assert.equal(a.requests.length, 2);
    assert.equal(b.requests.length, 0);
    const [first, second] = a.requests;
    assert.ok(first !== undefined && second !== undefined);
    assert.ok(second.receivedAt - first.receivedAt >= 950, `waited ${second.receivedAt - first.receivedAt} ms`);
  });

  test('a Retry-After above the cap moves on to the next provider at once', async () => {
    a.enqueue({ status: 429, retryAfter: 30 });
    const started = performance.now();
    const stream = router().stream({ model: 'm', messages: MESSAGES, stream: true });
    let text = '';
    for await (const chunk of stream) if (chunk.type === 'text-delta') text += chunk.text;
    assert.ok(performance.now() - started < 2_000);
    assert.equal(text, 'Echo: hello');
    assert.equal(stream.provider, 'B');
    const only = stream.attempts[0]?.error;
    assert.ok(isG4FError(only, 'RateLimitError'));
    assert.equal(only.retryAfterMs, 30_000);
    await idle();
    assert.equal(a.requests.length, 1);
  });

  test('every provider rate-limited: the error says the smallest wait asked', async () => {
    a.enqueue({ status: 429, retryAfter: 40 });
    b.enqueue({ status: 429, retryAfter: 30 });
    await assert.rejects(
      router().complete({ model: 'm', messages: MESSAGES, stream: false }),
      (error: unknown) => isG4FError(error, 'AllProvidersFailedError') && error.retryAfterMs === 30_000,
    );
    await idle();
  });
});

/** A socket that listens with a backlog of 0 and never accepts, its queue then filled. */
async function fullBacklog(): Promise<{ port: number; child: ChildProcess; sockets: Socket[] } | undefined> {
  const script = 'import socket,sys,time\ns=socket.socket()\ns.bind(("127.0.0.1",0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\nsys.stdin.read()';
  let child: ChildProcess;
  try {
    child = spawn('python3', ['-c', script], { stdio: ['pipe', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
  const line = await Promise.race([
    once(child.stdout as NodeJS.ReadableStream, 'data').then(([data]) => String(data)),
    once(child, 'error').then(() => undefined),
    once(child, 'exit').then(() => undefined),
  ]);
  const port = Number(line?.trim());
  if (!Number.isInteger(port) || port <= 0) {
    child.kill();
    return undefined;
  }
  // Fill the accept queue: connections complete until it is full, then SYNs are dropped.
  const sockets: Socket[] = [];
  for (let index = 0; index < 8; index++) {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    sockets.push(socket);
    const connected = await Promise.race([
      once(socket, 'connect').then(() => true),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 200).unref()),
    ]);
    if (!connected) return { port, child, sockets };
  }
  for (const socket of sockets) socket.destroy();
  child.kill();
  return undefined;
}
