/**
 * The shared conformance cases (conformance-cases.ts: text streamed and whole, bytes split
 * anywhere, tool calls, images, reasoning, HTTP errors, faults, timers, cancellation) for the
 * seeds' providers (Lockchat, Mishalsgpt), for every protocol and for catalog presets, each
 * pointed at its emulator. Before them, the cases of the seeds' providers and of a configured
 * OpenAI-compatible provider that the shared list does not have: the exact request on the wire,
 * the seeds' default temperature, the stream's noise, a plain JSON answer to a stream request,
 * a secret echoed in a raw error body, and Lockchat's bounded retry of model-not-found.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  Lockchat,
  Mishalsgpt,
  createAnthropicProvider,
  createGeminiProvider,
  createOllamaProvider,
  createOpenAICompatibleProvider,
  createRuntime,
  isG4FError,
  type Chunk,
  type CompletionRequest,
  type Provider,
  type Timeouts,
} from '../src/index.js';
import { CATALOG, presetProvider } from '../src/providers/index.js';
import { createEmulator, type Emulator, type Plan } from '../src/emulators/index.js';
import { LOCKCHAT_DEFAULT_TOKEN } from '../src/providers/lockchat.js';
import {
  NO_TRUNCATION,
  OBJECT_ARGUMENTS,
  TEXT_ONLY_SKIPS,
  WHOLE_CALLS,
  nativeEmulator,
  openAIEmulator,
  openAIStyleEmulator,
  rejection,
  runConformance,
  type ConformanceTarget,
} from './conformance-cases.js';

/** The suite's own settings and connections: each provider's base URL points at its emulator here. */
const runtime = createRuntime();

interface ProviderCase {
  provider: Provider;
  protocol: 'lockchat' | 'openai';
  model: string;
  path: string;
  /** The upstream path prefix beside the emulator URL (configured providers keep `/v1` in their base URL). */
  baseSuffix: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body(request: { model: string; messages: unknown; stream: boolean; temperature: number }): Record<string, unknown>;
  /** The provider retries model-not-found itself (bounded). */
  retriesModelNotFound: boolean;
  /** Cases that do not apply, with the reason. */
  skip: Record<string, string>;
  kind: 'seed' | 'configured';
  /** A secret the provider sends upstream, which must never come back in an error. */
  secret?: string;
}

const messages = [
  { role: 'system' as const, content: 'Be brief.' },
  { role: 'user' as const, content: 'Hello, world!' },
];

const cases: ProviderCase[] = [
  {
    provider: Lockchat,
    protocol: 'lockchat',
    model: 'gpt-4',
    path: '/v1/chat/completions',
    baseSuffix: '',
    query: { auth: LOCKCHAT_DEFAULT_TOKEN },
    headers: { 'user-agent': 'ChatX/39 CFNetwork/1408.0.4 Darwin/22.5.0', 'content-type': 'application/json' },
    body: ({ model, messages, temperature }) => ({ temperature, messages, model, stream: true }),
    retriesModelNotFound: true,
    kind: 'seed',
    secret: LOCKCHAT_DEFAULT_TOKEN,
    skip: { 'plain JSON answer to a stream request': 'Lockchat always streams server-sent events' },
  },
  {
    provider: Mishalsgpt,
    protocol: 'openai',
    model: 'gpt-3.5-turbo',
    path: '/api/openai/v1/chat/completions',
    baseSuffix: '',
    query: {},
    headers: { 'content-type': 'application/json' },
    body: ({ model, messages, temperature, stream }) => (stream ? { model, temperature, messages, stream: true } : { model, temperature, messages }),
    retriesModelNotFound: false,
    kind: 'seed',
    skip: {},
  },
  {
    provider: createOpenAICompatibleProvider({
      name: 'LocalServer',
      url: 'http://unused.invalid/v1',
      models: ['llama3.2'],
      apiKeyEnv: 'CONFORMANCE_LOCAL_KEY',
    }),
    protocol: 'openai',
    model: 'llama3.2',
    path: '/v1/chat/completions',
    baseSuffix: '/v1',
    query: {},
    headers: { 'content-type': 'application/json', authorization: 'Bearer conformance-secret' },
    body: ({ model, messages, temperature, stream }) => ({ model, temperature, messages, stream }),
    retriesModelNotFound: false,
    kind: 'configured',
    secret: 'conformance-secret',
    skip: {},
  },
];

const fast: Partial<Timeouts> = { connect: 2_000, firstToken: 5_000, idle: 5_000, total: 10_000 };

async function collect(iterable: AsyncIterable<Chunk>): Promise<{ text: string; chunks: Chunk[] }> {
  const chunks: Chunk[] = [];
  let text = '';
  for await (const chunk of iterable) {
    chunks.push(chunk);
    if (chunk.type === 'text-delta') text += chunk.text;
  }
  return { text, chunks };
}

for (const fixture of cases) {
  const name = fixture.provider.name;
  describe(`conformance: ${name}`, () => {
    let emulator: Emulator;

    const call = (request: Partial<CompletionRequest> = {}, timeouts: Partial<Timeouts> = fast): AsyncIterable<Chunk> =>
      fixture.provider.createCompletion(
        { model: fixture.model, messages, stream: true, ...request } as CompletionRequest,
        runtime.context(fixture.provider, { timeouts }),
      );
    const check = (title: string, body: () => Promise<void>): void => {
      const reason = fixture.skip[title];
      if (reason !== undefined) test(title, { skip: reason }, () => undefined);
      else test(title, body);
    };

    before(async () => {
      emulator = await createEmulator({ protocol: fixture.protocol });
      process.env.CONFORMANCE_LOCAL_KEY = 'conformance-secret';
      runtime.configure({ providers: { [name]: { baseUrl: emulator.url + fixture.baseSuffix, retry: { attempts: 3, baseDelayMs: 5, maxDelayMs: 20 } } } });
    });
    after(async () => {
      await emulator.close();
      await runtime.close();
    });

    check('sends the exact request (path, query, headers, body)', async () => {
      emulator.reset();
      for (const stream of [true, false]) {
        const { text } = await collect(call({ stream, temperature: 0.3 }));
        assert.equal(text, 'Echo: Hello, world!');
        const recorded = emulator.requests.at(-1);
        assert.ok(recorded);
        assert.equal(recorded.method, 'POST');
        assert.equal(recorded.path, fixture.path);
        assert.deepEqual(recorded.query, fixture.query);
        for (const [header, value] of Object.entries(fixture.headers)) assert.equal(recorded.headers[header], value, header);
        assert.deepEqual(recorded.body, fixture.body({ model: fixture.model, messages, stream, temperature: 0.3 }));
      }
    });

    check('uses temperature 0.7 by default and passes extra options through', async () => {
      emulator.reset();
      await collect(call({ maxTokens: 64, topP: 0.5, extraBody: { logit_bias: { '50256': -100 } } }));
      const body = emulator.requests[0]?.body as Record<string, unknown>;
      // The seeds' providers default to 0.7; a configured provider leaves it to the upstream.
      assert.equal(body.temperature, fixture.kind === 'configured' ? undefined : 0.7);
      assert.equal(body.max_tokens, 64);
      assert.equal(body.top_p, 0.5);
      assert.deepEqual(body.logit_bias, { '50256': -100 }, 'a field the contract does not model reaches the upstream as it came');
    });

    check('ignores comments, keep-alives, other fields, and CRLF', async () => {
      emulator.reset();
      emulator.enqueue({ text: 'content is not a keyword here', keepAlive: true, noise: true, crlf: true });
      assert.equal((await collect(call())).text, 'content is not a keyword here');
    });

    check('plain JSON answer to a stream request', async () => {
      emulator.reset();
      emulator.enqueue({ text: 'whole answer at once', forceJson: true });
      const { chunks } = await collect(call());
      assert.deepEqual(
        chunks.filter((chunk) => chunk.type === 'text-delta'),
        [{ type: 'text-delta', text: 'whole answer at once' }],
      );
    });

    check('an upstream that echoes the secret in a raw error body gets it redacted', async () => {
      const secret = fixture.secret;
      if (secret === undefined) return;
      emulator.reset();
      emulator.enqueue({ status: 401, errorBody: `Incorrect API key provided: ${secret}` });
      const error = await rejection(collect(call()));
      assert.ok(isG4FError(error), String(error));
      assert.ok(!error.message.includes(secret), error.message);
      assert.ok(!JSON.stringify(error).includes(secret));
      assert.match(error.message, /\*\*\*/);
    });

    for (const framing of ['data', 'line', 'json'] as const) {
      check(`model-not-found (${framing}) is retried, bounded`, async () => {
        emulator.reset();
        emulator.failTimes(2, { modelNotFound: framing });
        if (fixture.retriesModelNotFound) {
          assert.equal((await collect(call())).text, 'Echo: Hello, world!');
          assert.equal(emulator.requests.length, 3);
          emulator.reset();
          emulator.failTimes(5, { modelNotFound: framing });
          const error = await rejection(collect(call()));
          assert.ok(isG4FError(error, 'ModelNotFoundError'), String(error));
          assert.equal(error.attempts, 3);
          assert.equal(emulator.requests.length, 3);
          assert.match(error.message, /Lockchat/);
        } else {
          // No retry inside the provider: a typed error, and routing falls back.
          const error = await rejection(collect(call()));
          assert.ok(isG4FError(error, 'ModelNotFoundError'), String(error));
          assert.equal(emulator.requests.length, 1);
        }
      });
    }
  });
}

describe('conformance: Mishalsgpt typed errors on bad JSON', () => {
  let emulator: Emulator;
  before(async () => {
    emulator = await createEmulator({ protocol: 'openai' });
    runtime.configure({ providers: { Mishalsgpt: { baseUrl: emulator.url } } });
  });
  after(async () => {
    await emulator.close();
    await runtime.close();
  });

  const plans: Array<[string, Plan]> = [
    ['invalid JSON', { invalidJson: true }],
    ['missing choices', { missingChoices: true }],
  ];
  for (const [title, plan] of plans) {
    test(`${title} gives a StreamParseError, not a crash`, async () => {
      emulator.enqueue(plan);
      const error = await rejection(collect(Mishalsgpt.createCompletion({ model: 'gpt-3.5-turbo', messages, stream: false }, runtime.context(Mishalsgpt))));
      assert.ok(isG4FError(error, 'StreamParseError'), String(error));
    });
  }

  test('empty choices give an empty answer, not a crash', async () => {
    emulator.enqueue({ emptyChoices: true });
    const { text } = await collect(Mishalsgpt.createCompletion({ model: 'gpt-3.5-turbo', messages, stream: false }, runtime.context(Mishalsgpt)));
    assert.equal(text, '');
  });

  test('usage from the upstream becomes a usage chunk', async () => {
    const { chunks } = await collect(Mishalsgpt.createCompletion({ model: 'gpt-3.5-turbo', messages, stream: false }, runtime.context(Mishalsgpt)));
    const usage = chunks.find((chunk) => chunk.type === 'usage');
    assert.ok(usage && usage.type === 'usage');
    assert.ok(usage.usage.completionTokens > 0);
  });
});

// ---- the shared cases, for every protocol and for presets pointed at emulators ----

const wholeCallSkips = {
  'tool call arguments streamed in fragments': WHOLE_CALLS,
  'tool call arguments that are not valid JSON are passed on as text': OBJECT_ARGUMENTS,
};

function preset(name: string): ConformanceTarget['provider'] {
  const found = CATALOG.find((item) => item.name === name);
  assert.ok(found, name);
  return presetProvider(found);
}

const targets: ConformanceTarget[] = [
  {
    title: 'seed Lockchat',
    provider: Lockchat,
    model: 'gpt-4',
    // The token Lockchat sends in its query string, set here to one of the suite's own.
    keyEnv: 'G4F_LOCKCHAT_TOKEN',
    secret: 'lockchat-token-0009',
    baseSuffix: '',
    start: openAIStyleEmulator('lockchat'),
    skip: { ...TEXT_ONLY_SKIPS, 'a stream that ends without its last event is incomplete: StreamParseError': NO_TRUNCATION },
  },
  {
    title: 'seed Mishalsgpt',
    provider: Mishalsgpt,
    model: 'gpt-3.5-turbo',
    baseSuffix: '',
    start: openAIEmulator,
    skip: { ...TEXT_ONLY_SKIPS, 'a stream that ends without its last event is incomplete: StreamParseError': NO_TRUNCATION },
  },
  {
    title: 'openai-compatible',
    provider: createOpenAICompatibleProvider({
      name: 'SharedOpenAI',
      url: 'http://unused.invalid/v1',
      models: ['m'],
      apiKeyEnv: 'SHARED_OPENAI_KEY',
      needsAuth: true,
    }),
    model: 'm',
    keyEnv: 'SHARED_OPENAI_KEY',
    secret: 'sk-shared-openai-0001',
    baseSuffix: '/v1',
    start: openAIEmulator,
    skip: { 'a stream that ends without its last event is incomplete: StreamParseError': NO_TRUNCATION },
  },
  {
    title: 'anthropic',
    provider: createAnthropicProvider({ name: 'SharedAnthropic', url: 'http://unused.invalid', models: ['claude-test'], apiKeyEnv: 'SHARED_ANTHROPIC_KEY' }),
    model: 'claude-test',
    keyEnv: 'SHARED_ANTHROPIC_KEY',
    secret: 'sk-ant-shared-0002',
    baseSuffix: '',
    start: nativeEmulator('anthropic'),
  },
  {
    title: 'gemini',
    provider: createGeminiProvider({ name: 'SharedGemini', url: 'http://unused.invalid', models: ['gemini-test'], apiKeyEnv: 'SHARED_GEMINI_KEY' }),
    model: 'gemini-test',
    keyEnv: 'SHARED_GEMINI_KEY',
    secret: 'AIza-shared-0003',
    baseSuffix: '',
    start: nativeEmulator('gemini'),
    skip: wholeCallSkips,
  },
  {
    title: 'ollama',
    provider: createOllamaProvider({ name: 'SharedOllama', url: 'http://unused.invalid', models: ['llama3.2'], apiKeyEnv: 'SHARED_OLLAMA_KEY' }),
    model: 'llama3.2',
    keyEnv: 'SHARED_OLLAMA_KEY',
    secret: 'ollama-proxy-0004',
    baseSuffix: '',
    start: nativeEmulator('ollama'),
    skip: wholeCallSkips,
  },
  {
    title: 'preset Groq',
    provider: preset('Groq'),
    model: 'llama-3.3-70b-versatile',
    keyEnv: 'GROQ_API_KEY',
    secret: 'gsk_preset_0005',
    baseSuffix: '/v1',
    start: openAIEmulator,
    skip: { 'a stream that ends without its last event is incomplete: StreamParseError': NO_TRUNCATION },
  },
  {
    title: 'preset Anthropic',
    provider: preset('Anthropic'),
    model: 'claude-sonnet-4-5',
    keyEnv: 'ANTHROPIC_API_KEY',
    secret: 'sk-ant-preset-0006',
    baseSuffix: '',
    start: nativeEmulator('anthropic'),
  },
  {
    title: 'preset Gemini',
    provider: preset('Gemini'),
    model: 'gemini-2.5-flash',
    keyEnv: 'GEMINI_API_KEY',
    secret: 'AIza-preset-0007',
    baseSuffix: '',
    start: nativeEmulator('gemini'),
    skip: wholeCallSkips,
  },
  {
    title: 'preset Ollama',
    provider: preset('Ollama'),
    model: 'llama3.2',
    keyEnv: 'G4F_OLLAMA_API_KEY',
    secret: 'ollama-preset-0008',
    baseSuffix: '',
    start: nativeEmulator('ollama'),
    skip: wholeCallSkips,
  },
];

for (const target of targets) runConformance(target);
