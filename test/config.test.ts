/**
 * The JSON config file: valid files build a working router; bad files are refused with the field
 * and the reason; secrets come from the environment and never appear in errors; discovery via
 * --config, G4F_CONFIG and ./g4f.config.json.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRouterFromConfig, loadConfig, parseConfig, type G4FConfig } from '../src/config.js';
import { isG4FError } from '../src/core/errors.js';
import type { Runtime } from '../src/core/runtime.js';
import { resolveTimeouts } from '../src/core/settings.js';
import type { Router } from '../src/routing/types.js';
import { createEmulator, type Emulator } from '../src/emulators/index.js';

const MESSAGES = [{ role: 'user' as const, content: 'hi' }];
let openai: Emulator;
let lock: Emulator;
let directory: string;
const originalCwd = process.cwd();
const originalConfigVariable = process.env.G4F_CONFIG;
/** The runtimes the tests' routers were built on (each from its config's settings), closed at the end. */
const runtimes: Runtime[] = [];

function routerFrom(config: G4FConfig): Router {
  const router = createRouterFromConfig(config);
  runtimes.push(router.runtime);
  return router;
}

before(async () => {
  [openai, lock] = await Promise.all([createEmulator(), createEmulator({ protocol: 'lockchat' })]);
  directory = await mkdtemp(join(tmpdir(), 'g4f-config-'));
});
afterEach(() => {
  process.chdir(originalCwd);
  if (originalConfigVariable === undefined) delete process.env.G4F_CONFIG;
  else process.env.G4F_CONFIG = originalConfigVariable;
  delete process.env.G4F_TEST_LOCAL_KEY;
  openai.reset();
  lock.reset();
});
after(async () => {
  await Promise.all(runtimes.map((runtime) => runtime.close()));
  await Promise.all([openai.close(), lock.close()]);
  await rm(directory, { recursive: true, force: true });
});

describe('valid files', () => {
  test('OpenAI-compatible providers, routes, aliases and built-in settings make a working router', async () => {
    const config = parseConfig({
      providers: [
        {
          name: 'local',
          type: 'openai-compatible',
          baseUrl: `${openai.url}/v1`,
          apiKeyEnv: 'G4F_TEST_LOCAL_KEY',
          models: ['llama3.2'],
          headers: { 'x-team': 'blue' },
          timeouts: { firstToken: 1234 },
        },
      ],
      builtin: { Lockchat: { baseUrl: lock.url, timeouts: { idle: 4321 } }, Mishalsgpt: { enabled: false } },
      models: { 'gpt-4': ['local', 'Lockchat'] },
      aliases: { llama: 'llama3.2' },
      timeouts: { connect: 2_000 },
      retry: { attempts: 1 },
      circuit: { failureThreshold: 2, cooldownMs: 1_000 },
    });
    process.env.G4F_TEST_LOCAL_KEY = 'local-key-1';
    const router = routerFrom(config);
    assert.deepEqual(
      router.listProviders().map((provider) => [provider.name, provider.kind, provider.url]),
      [
        ['Lockchat', 'builtin', lock.url],
        ['local', 'openai-compatible', `${openai.url}/v1`],
      ],
    );
    assert.deepEqual(router.listModels().find((model) => model.id === 'gpt-4')?.providers, ['local', 'Lockchat']);
    assert.equal(resolveTimeouts(router.runtime.settings, 'local').firstToken, 1234);
    assert.equal(resolveTimeouts(router.runtime.settings, 'Lockchat').idle, 4321);
    assert.equal(resolveTimeouts(router.runtime.settings, 'Lockchat').connect, 2_000);

    const viaAlias = await router.complete({ model: 'llama', messages: MESSAGES, stream: false });
    assert.deepEqual([viaAlias.provider, viaAlias.model, viaAlias.text], ['local', 'llama3.2', 'Echo: hi']);
    const sent = openai.requests[0];
    assert.equal(sent?.headers.authorization, 'Bearer local-key-1');
    assert.equal(sent?.headers['x-team'], 'blue');

    openai.enqueue({ status: 503 });
    const fellBack = await router.complete({ model: 'gpt-4', messages: MESSAGES, stream: false });
    assert.equal(fellBack.provider, 'Lockchat');
    assert.equal(lock.requests.length, 1);
    await Promise.all([openai.waitForIdle(), lock.waitForIdle()]);
  });

  test('an empty object is a valid config', () => {
    assert.deepEqual(parseConfig({}), {});
  });
});

describe('bad files are refused with the field and the reason', () => {
  const cases: Array<[string, unknown, RegExp]> = [
    [
      'a base URL that is not http(s)',
      { providers: [{ name: 'x', type: 'openai-compatible', baseUrl: 'ftp://h/v1', models: ['m'] }] },
      /providers\.0\.baseUrl: .*http/,
    ],
    ['a provider type that does not exist', { providers: [{ name: 'x', type: 'grpc', baseUrl: 'http://h/v1', models: ['m'] }] }, /providers\.0\.type: /],
    ['no models', { providers: [{ name: 'x', type: 'openai-compatible', baseUrl: 'http://h/v1', models: [] }] }, /providers\.0\.models: /],
    ['a negative timer', { timeouts: { firstToken: -5 } }, /timeouts\.firstToken: /],
    ['an unknown timer', { timeouts: { firstTok: 5 } }, /timeouts: .*firstTok/],
    ['an unknown top-level field', { provider: [] }, /\(root\): .*provider/],
    [
      'a bad environment variable name',
      { providers: [{ name: 'x', type: 'openai-compatible', baseUrl: 'http://h/v1', apiKeyEnv: 'MY-KEY', models: ['m'] }] },
      /providers\.0\.apiKeyEnv: must be an environment variable name/,
    ],
    [
      'a name already taken by a built-in',
      { providers: [{ name: 'lockchat', type: 'openai-compatible', baseUrl: 'http://h/v1', models: ['m'] }] },
      /providers\.0\.name: "lockchat" is already taken/,
    ],
    ['settings of a built-in that does not exist', { builtin: { Nobody: {} } }, /builtin\.Nobody: not a built-in provider/],
    ['an empty route', { models: { 'gpt-4': [] } }, /models\.gpt-4: /],
    ['a bad order', { routing: { order: 'random' } }, /routing\.order: /],
    ['not an object', [1, 2], /\(root\): /],
  ];
  for (const [name, value, pattern] of cases) {
    test(name, () => {
      assert.throws(
        () => parseConfig(value, 'g4f.config.json'),
        (error: unknown) => {
          assert.ok(isG4FError(error, 'ConfigError'), String(error));
          assert.match(error.message, /^g4f\.config\.json: /);
          assert.match(error.message, pattern);
          return true;
        },
      );
    });
  }

  test('a route or alias naming an unknown provider or model is refused when the router is built', () => {
    assert.throws(
      () => routerFrom(parseConfig({ models: { 'gpt-4': ['Lockchat', 'ghost'] } })),
      (error: unknown) => isG4FError(error, 'ConfigError') && /models\.gpt-4: unknown provider "ghost"/.test(error.message),
    );
    assert.throws(
      () => routerFrom(parseConfig({ aliases: { fast: 'nothing' } })),
      (error: unknown) => isG4FError(error, 'ConfigError') && /aliases\.fast: unknown model "nothing"/.test(error.message),
    );
  });

  test('a secret written into the file is refused, and not repeated in the error', () => {
    assert.throws(
      () => parseConfig({ providers: [{ name: 'x', type: 'openai-compatible', baseUrl: 'http://h/v1', models: ['m'], apiKey: 'sk-in-file-0042' }] }),
      (error: unknown) => isG4FError(error, 'ConfigError') && /providers\.0: .*apiKey/.test(error.message) && !error.message.includes('sk-in-file-0042'),
    );
  });

  test('files that cannot be read or parsed', async () => {
    const broken = join(directory, 'broken.json');
    await writeFile(broken, '{ "providers": [ }');
    await assert.rejects(loadConfig(broken), (error: unknown) => isG4FError(error, 'ConfigError') && /broken\.json: not valid JSON/.test(error.message));
    await assert.rejects(
      loadConfig(join(directory, 'missing.json')),
      (error: unknown) => isG4FError(error, 'ConfigError') && /cannot read config file .*missing\.json: ENOENT/.test(error.message),
    );
  });
});

test('a secret from the environment never appears in errors, even when the upstream refuses it', async () => {
  const secret = 'sk-live-very-secret-7f3a9c';
  process.env.G4F_TEST_LOCAL_KEY = secret;
  openai.setDefaultPlan({ status: 401 });
  try {
    const router = routerFrom(
      parseConfig({
        providers: [{ name: 'local', type: 'openai-compatible', baseUrl: `${openai.url}/v1`, apiKeyEnv: 'G4F_TEST_LOCAL_KEY', models: ['m'] }],
      }),
    );
    for (const stream of [false, true]) {
      const error = await (async () => {
        try {
          if (stream) for await (const chunk of router.stream({ model: 'm', messages: MESSAGES, stream })) void chunk;
          else await router.complete({ model: 'm', messages: MESSAGES, stream });
        } catch (thrown) {
          return thrown;
        }
        return undefined;
      })();
      assert.ok(isG4FError(error, 'AllProvidersFailedError'));
      assert.ok(isG4FError(error.attempts[0]?.error, 'AuthError'));
      const everything = [
        error.message,
        JSON.stringify(error),
        JSON.stringify(error.attempts),
        String(error.stack),
        JSON.stringify(router.health('local')),
      ].join('\n');
      assert.ok(!everything.includes(secret), 'the key is absent from messages, JSON and health');
    }
    assert.equal(openai.requests[0]?.headers.authorization, `Bearer ${secret}`, 'the key was sent upstream');
  } finally {
    openai.setDefaultPlan({});
  }
  await openai.waitForIdle();
});

describe('discovery', () => {
  const file = (baseUrl: string): string => JSON.stringify({ providers: [{ name: 'found', type: 'openai-compatible', baseUrl, models: ['m'] }] });

  test('an explicit path wins over G4F_CONFIG, which wins over ./g4f.config.json', async () => {
    await writeFile(join(directory, 'g4f.config.json'), file('http://127.0.0.1:1/cwd'));
    await writeFile(join(directory, 'from-env.json'), file('http://127.0.0.1:1/env'));
    await writeFile(join(directory, 'explicit.json'), file('http://127.0.0.1:1/explicit'));
    process.chdir(directory);
    delete process.env.G4F_CONFIG;
    assert.equal((await loadConfig()).providers?.[0]?.baseUrl, 'http://127.0.0.1:1/cwd');
    process.env.G4F_CONFIG = join(directory, 'from-env.json');
    assert.equal((await loadConfig()).providers?.[0]?.baseUrl, 'http://127.0.0.1:1/env');
    assert.equal((await loadConfig(join(directory, 'explicit.json'))).providers?.[0]?.baseUrl, 'http://127.0.0.1:1/explicit');
  });

  test('no file anywhere: an empty config', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'g4f-empty-'));
    try {
      process.chdir(empty);
      delete process.env.G4F_CONFIG;
      assert.deepEqual(await loadConfig(), {});
    } finally {
      process.chdir(originalCwd);
      await rm(empty, { recursive: true, force: true });
    }
  });
});

test('a secret header in the file is refused, naming the field', async () => {
  const { parseConfig } = await import('../src/config.js');
  assert.throws(
    () =>
      parseConfig({
        providers: [{ name: 'x', type: 'openai-compatible', baseUrl: 'http://127.0.0.1:9/v1', models: ['m'], headers: { Authorization: 'Bearer sk-1' } }],
      }),
    /providers\.0\.headers\.Authorization: .*secrets do not belong in the file: use apiKeyEnv, or headersEnv/,
  );
});

test('listed base URLs carry no credentials or query', async () => {
  const { createRouter, createOpenAICompatibleProvider } = await import('../src/index.js');
  const router = createRouter({
    providers: [createOpenAICompatibleProvider({ name: 'x', url: 'http://user:pw@127.0.0.1:9/v1?key=sk-2', models: ['m'] })],
  });
  const listed = router.listProviders().find((provider) => provider.name === 'x');
  assert.equal(listed?.url, 'http://127.0.0.1:9/v1');
});
