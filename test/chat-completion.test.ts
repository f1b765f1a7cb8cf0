/** ChatCompletion and Client: typed errors, cancellation, OpenAI shapes. */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { after, before, describe, test } from 'node:test';
import {
  ChatCompletion,
  Client,
  configure,
  createOpenAICompatibleProvider,
  createRouter,
  createRuntime,
  getDefaultRouter,
  getDefaultRuntime,
  isG4FError,
  setDefaultRuntime,
} from '../src/index.js';
import { createEmulator, type Emulator } from '../src/emulators/index.js';

const messages = [{ role: 'user' as const, content: 'ping' }];
/** The tests' own settings and connections: every call names it, and the library default is left alone. */
const runtime = createRuntime();
after(() => runtime.close());

async function rejection(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  assert.fail('expected an error');
}

async function drain(iterable: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of iterable) void _;
}

describe('ChatCompletion', () => {
  let lockchat: Emulator;
  let mishalsgpt: Emulator;
  before(async () => {
    lockchat = await createEmulator({ protocol: 'lockchat' });
    mishalsgpt = await createEmulator({ protocol: 'openai' });
    runtime.configure({ providers: { Lockchat: { baseUrl: lockchat.url }, Mishalsgpt: { baseUrl: mishalsgpt.url } } });
  });
  after(async () => {
    await Promise.all([lockchat.close(), mishalsgpt.close()]);
  });

  test('unknown model: a typed error listing the known models', async () => {
    const error = await rejection(() => ChatCompletion.create({ runtime, model: 'gpt-17', messages }));
    assert.ok(isG4FError(error, 'UnknownModelError'));
    assert.match(error.message, /gpt-17/);
    assert.ok(error.knownModels.includes('gpt-4'));
  });

  test('unknown provider: a typed error', async () => {
    const error = await rejection(() => ChatCompletion.create({ runtime, model: 'gpt-4', messages, provider: 'Nobody' }));
    assert.ok(isG4FError(error, 'UnknownProviderError'));
    assert.match(error.message, /Lockchat/);
  });

  test('stream asked of a provider that cannot: a typed error before any request', async () => {
    const noStream = createOpenAICompatibleProvider({ name: 'NoStream', url: `${mishalsgpt.url}/v1`, models: ['m'], supportsStream: false });
    const seen = mishalsgpt.requests.length;
    const error = await rejection(() => drain(ChatCompletion.create({ runtime, model: 'm', messages, provider: noStream, stream: true })));
    assert.ok(isG4FError(error, 'UnsupportedError'));
    assert.equal(mishalsgpt.requests.length, seen);
  });

  test('auth missing for a provider that needs it: a typed error; given auth is sent', async () => {
    const locked = createOpenAICompatibleProvider({ name: 'Locked', url: `${mishalsgpt.url}/v1`, models: ['m'], needsAuth: true });
    const error = await rejection(() => ChatCompletion.create({ runtime, model: 'm', messages, provider: locked }));
    assert.ok(isG4FError(error, 'AuthError'));
    assert.equal(await ChatCompletion.create({ runtime, model: 'm', messages, provider: locked, auth: 'sekret' }), 'Echo: ping');
    assert.equal(mishalsgpt.requests.at(-1)?.headers.authorization, 'Bearer sekret');
  });

  const invalid: Array<[string, unknown, string]> = [
    ['an empty list', [], 'messages'],
    ['an unknown role', [{ role: 'wizard', content: 'x' }], 'messages[0].role'],
    ['non-string content', [{ role: 'user', content: 42 }], 'messages[0].content'],
    ['not a list', 'hello', 'messages'],
  ];
  for (const [title, value, param] of invalid) {
    test(`invalid messages (${title}): InvalidRequestError naming the field`, async () => {
      const error = await rejection(() => ChatCompletion.create({ runtime, model: 'gpt-4', messages: value as typeof messages }));
      assert.ok(isG4FError(error, 'InvalidRequestError'));
      assert.equal(error.param, param);
    });
  }

  test('an AbortSignal aborts the upstream request', async () => {
    lockchat.enqueue({ chunkCount: 10, chunkDelayMs: 200 });
    const controller = new AbortController();
    const aborted = lockchat.waitForAbort(undefined, 10_000);
    const error = await rejection(async () => {
      for await (const token of ChatCompletion.create({ runtime, model: 'gpt-4', messages, stream: true, signal: controller.signal })) {
        if (token) controller.abort();
      }
    });
    assert.ok(isG4FError(error, 'AbortError'));
    assert.equal((await aborted).aborted, true);
  });

  test('leaving the loop early aborts the upstream request', async () => {
    lockchat.enqueue({ chunkCount: 10, chunkDelayMs: 200 });
    const aborted = lockchat.waitForAbort(undefined, 10_000);
    for await (const token of ChatCompletion.create({ runtime, model: 'gpt-4', messages, stream: true })) if (token) break;
    assert.equal((await aborted).aborted, true);
  });
});

describe('Client', () => {
  let upstream: Emulator;
  let client: Client;
  before(async () => {
    upstream = await createEmulator({ protocol: 'openai' });
    const local = createOpenAICompatibleProvider({ name: 'Local', url: `${upstream.url}/v1`, models: ['llama3.2'] });
    client = new Client({ router: createRouter({ runtime, providers: [local] }) });
  });
  after(async () => {
    await upstream.close();
  });

  test('returns an OpenAI-shaped chat.completion', async () => {
    const completion = await client.chat.completions.create({ model: 'llama3.2', messages });
    assert.equal(completion.object, 'chat.completion');
    assert.match(completion.id, /^chatcmpl-/);
    assert.equal(completion.provider, 'Local');
    assert.equal(completion.choices[0]?.message.content, 'Echo: ping');
    assert.equal(completion.choices[0]?.finish_reason, 'stop');
    assert.ok((completion.usage?.total_tokens ?? 0) > 0);
  });

  test('a long-lived signal collects no listeners; an aborted one stops the stream', async () => {
    const controller = new AbortController();
    for (let index = 0; index < 30; index++) {
      const stream = await client.chat.completions.create({ model: 'llama3.2', messages, stream: true, signal: controller.signal });
      for await (const chunk of stream) void chunk;
    }
    assert.equal(EventEmitter.getEventListeners(controller.signal, 'abort').length, 0);
    controller.abort();
    const stream = await client.chat.completions.create({ model: 'llama3.2', messages, stream: true, signal: controller.signal });
    await assert.rejects(drain(stream), (error: unknown) => isG4FError(error, 'AbortError'));
  });

  test('an unknown model fails at the call, not at the first chunk', async () => {
    await assert.rejects(client.chat.completions.create({ model: 'nope', messages, stream: true }), (error: unknown) => isG4FError(error, 'UnknownModelError'));
    assert.throws(
      () => ChatCompletion.create({ runtime, model: 'nope', messages, stream: true }),
      (error: unknown) => isG4FError(error, 'UnknownModelError'),
    );
  });

  test('streams chat.completion.chunk objects', async () => {
    const stream = await client.chat.completions.create({ model: 'llama3.2', messages, stream: true });
    let text = '';
    const ids = new Set<string>();
    let roles = 0;
    let finish: string | null = null;
    for await (const chunk of stream) {
      assert.equal(chunk.object, 'chat.completion.chunk');
      ids.add(chunk.id);
      const choice = chunk.choices[0];
      if (choice?.delta.role) roles++;
      text += choice?.delta.content ?? '';
      if (choice?.finish_reason) finish = choice.finish_reason;
    }
    assert.equal(text, 'Echo: ping');
    assert.equal(ids.size, 1);
    assert.equal(roles, 1);
    assert.equal(finish, 'stop');
  });
});

describe('the library default runtime', () => {
  let upstream: Emulator;
  before(async () => {
    upstream = await createEmulator({ protocol: 'lockchat' });
  });
  after(async () => {
    await upstream.close();
  });

  test('calls that name no runtime use the default; configure() changes it and nothing else', async (context) => {
    // A fresh default for this test alone, put back after it.
    const fresh = createRuntime();
    setDefaultRuntime(fresh);
    context.after(async () => {
      setDefaultRuntime(undefined);
      await fresh.close();
    });
    assert.equal(getDefaultRuntime(), fresh);
    assert.equal(getDefaultRouter().runtime, fresh, 'the default router is built on the default runtime');
    configure({ providers: { Lockchat: { baseUrl: upstream.url } } });
    assert.equal(fresh.settings.providers?.Lockchat?.baseUrl, upstream.url);
    assert.notEqual(runtime.settings.providers?.Lockchat?.baseUrl, upstream.url, 'another runtime never sees it');
    assert.equal(await ChatCompletion.create({ model: 'gpt-4', messages }), 'Echo: ping');
    const completion = await new Client().chat.completions.create({ model: 'gpt-4', messages });
    assert.equal(completion.choices[0]?.message.content, 'Echo: ping');
    assert.equal(upstream.requests.length, 2);
  });

  test('a runtime given to a call or a Client is used instead', async () => {
    const own = createRuntime({ providers: { Lockchat: { baseUrl: upstream.url } } });
    try {
      const before = upstream.requests.length;
      assert.equal(await ChatCompletion.create({ model: 'gpt-4', messages, runtime: own }), 'Echo: ping');
      const completion = await new Client({ runtime: own }).chat.completions.create({ model: 'gpt-4', messages });
      assert.equal(completion.choices[0]?.message.content, 'Echo: ping');
      assert.equal(upstream.requests.length, before + 2);
      assert.equal(getDefaultRuntime().settings.providers, undefined, 'the default is untouched');
    } finally {
      await own.close();
    }
  });
});
