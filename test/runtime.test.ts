/**
 * The runtime: settings, connection pools and the context cache belong to one runtime, never to
 * the process. Two runtimes side by side route the same provider to different upstreams; the
 * environment is read on every call; a closed runtime opens new connections when used again.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Lockchat, createRouter, createRuntime } from '../src/index.js';
import { createEmulator, type Emulator } from '../src/emulators/index.js';

const messages = [{ role: 'user' as const, content: 'hi' }];
let first: Emulator;
let second: Emulator;

before(async () => {
  [first, second] = await Promise.all([createEmulator({ protocol: 'lockchat' }), createEmulator({ protocol: 'lockchat' })]);
});
after(async () => {
  await Promise.all([first.close(), second.close()]);
});

test('two runtimes route the same provider to different upstreams, at the same time', async () => {
  const one = createRuntime({ providers: { Lockchat: { baseUrl: first.url } } });
  const two = createRuntime({ providers: { lockchat: { baseUrl: second.url } } });
  try {
    const [a, b] = await Promise.all([
      createRouter({ runtime: one, retry: { attempts: 1 } }).complete({ model: 'gpt-4', messages, stream: false }),
      createRouter({ runtime: two, retry: { attempts: 1 } }).complete({ model: 'gpt-4', messages, stream: false }),
    ]);
    assert.deepEqual([a.text, b.text], ['Echo: hi', 'Echo: hi']);
    assert.equal(first.requests.length, 1);
    assert.equal(second.requests.length, 1);
    assert.equal(one.baseUrl(Lockchat), first.url);
    assert.equal(two.baseUrl(Lockchat), second.url, 'provider names match case-insensitively');
    assert.equal(createRuntime().baseUrl(Lockchat), Lockchat.url, 'a new runtime has none of it');
  } finally {
    await Promise.all([one.close(), two.close()]);
  }
});

test('a changed environment variable takes effect at the next call; settings win over it', async () => {
  const runtime = createRuntime();
  const saved = process.env.G4F_LOCKCHAT_URL;
  try {
    process.env.G4F_LOCKCHAT_URL = first.url;
    assert.equal(runtime.context(Lockchat).baseUrl, first.url);
    process.env.G4F_LOCKCHAT_URL = second.url;
    assert.equal(runtime.context(Lockchat).baseUrl, second.url, 'the cached context is not reused');
    runtime.configureProvider('Lockchat', { baseUrl: first.url });
    assert.equal(runtime.context(Lockchat).baseUrl, first.url);
    assert.equal(runtime.context(Lockchat), runtime.context(Lockchat), 'unchanged: the same cached context');
    assert.equal(runtime.context(Lockchat, { timeouts: { total: 5 } }).timeouts.total, 5, 'the call over everything');
  } finally {
    if (saved === undefined) delete process.env.G4F_LOCKCHAT_URL;
    else process.env.G4F_LOCKCHAT_URL = saved;
    await runtime.close();
  }
});

test('a closed runtime forgets its pooled connections and opens new ones when used again', async () => {
  const runtime = createRuntime({ providers: { Lockchat: { baseUrl: first.url } } });
  const router = createRouter({ runtime, retry: { attempts: 1 } });
  const before = runtime.context(Lockchat).dispatcher;
  assert.equal((await router.complete({ model: 'gpt-4', messages, stream: false })).text, 'Echo: hi');
  await runtime.close();
  assert.notEqual(runtime.context(Lockchat).dispatcher, before);
  assert.equal((await router.complete({ model: 'gpt-4', messages, stream: false })).text, 'Echo: hi');
  await runtime.close();
});
