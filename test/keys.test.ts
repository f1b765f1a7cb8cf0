/**
 * Named API keys on one server (SQLite): `/admin/keys`, the checks of every door (revoked,
 * expired, model, budget, rate), usage and the metrics' key label; `g4f keys` and the bad input
 * of the command line and of start-up.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { newKey, openKeyStore } from '../src/store/index.js';
import { send, startFixture, type Fixture } from './server-fixture.js';
import { waitFor } from './services.js';

const BIN = join(import.meta.dirname, '..', 'bin', 'g4f.js');
const built = existsSync(join(import.meta.dirname, '..', 'dist', 'cli', 'main.js'));
const ADMIN = 'the-admin-key';

let dataDir: string;
let fixture: Fixture;
const STATIC = 'static-key';

async function admin(method: string, path: string, body?: unknown, key = ADMIN): Promise<{ status: number; json: Record<string, unknown> }> {
  const answer = await send(fixture.url, {
    method,
    path,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: answer.status, json: JSON.parse(answer.body) as Record<string, unknown> };
}

async function createKey(body: Record<string, unknown>): Promise<string> {
  const created = await admin('POST', '/admin/keys', body);
  assert.equal(created.status, 201, JSON.stringify(created.json));
  return created.json.key as string;
}

describe('named keys on one server', () => {
  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'g4f-keys-'));
    process.env.G4F_ADMIN_KEY = ADMIN;
    fixture = await startFixture({ dataDir, apiKeys: [STATIC] });
  });
  after(async () => {
    delete process.env.G4F_ADMIN_KEY;
    await fixture.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('/admin/keys creates, lists (never the key), revokes, and answers only to the admin key', async () => {
    const key = await createKey({ name: 'alice', rpm: 100, models: ['test-model'] });
    assert.match(key, /^g4f-/);
    const listed = await admin('GET', '/admin/keys');
    assert.equal(listed.status, 200);
    assert.ok(!JSON.stringify(listed.json).includes(key));
    assert.deepEqual(
      (listed.json.data as Array<{ name: string }>).map((item) => item.name),
      ['alice'],
    );
    // Neither an ordinary key, nor a named one, nor none opens the admin routes.
    for (const other of [STATIC, key, '']) assert.equal((await admin('GET', '/admin/keys', undefined, other)).status, 401);
    const duplicate = await admin('POST', '/admin/keys', { name: 'alice' });
    assert.equal(duplicate.status, 400);
    assert.match(JSON.stringify(duplicate.json), /exists already/);
    for (const bad of [
      { name: 'x1', rpm: 0 },
      { name: 'x2', tpm: -3 },
      { name: 'x3', max_parallel: 1.5 },
      { name: 'x4', budget_tokens: 'lots' },
      { name: 'bad name' },
    ]) {
      const refused = await admin('POST', '/admin/keys', bad);
      assert.equal(refused.status, 400, JSON.stringify(bad));
    }
    assert.equal((await admin('DELETE', '/admin/keys/alice')).json.revoked, true);
    const revoked = await send(fixture.url, { method: 'GET', path: '/v1/models', headers: { authorization: `Bearer ${key}` } });
    assert.equal(revoked.status, 401);
    assert.match(revoked.body, /revoked/);
  });

  test('G4F_API_KEYS keep working as unnamed keys without limits; an unknown key is a 401', async () => {
    const client = new OpenAI({ apiKey: STATIC, baseURL: `${fixture.url}/v1`, maxRetries: 0 });
    assert.ok((await client.chat.completions.create({ model: 'test-model', messages: [{ role: 'user', content: 'hi' }] })).choices[0]);
    const stranger = new OpenAI({ apiKey: 'g4f-unknown', baseURL: `${fixture.url}/v1`, maxRetries: 0 });
    await assert.rejects(stranger.models.list(), (error: unknown) => error instanceof OpenAI.AuthenticationError);
  });

  test('an expired key is a 401', async () => {
    const store = openKeyStore({ dataDir });
    const made = newKey({ name: 'old' });
    made.record.expiresAt = new Date(Date.now() - 1000).toISOString();
    await store.insert(made.record);
    await store.close();
    const answer = await send(fixture.url, { method: 'GET', path: '/v1/models', headers: { authorization: `Bearer ${made.key}` } });
    assert.equal(answer.status, 401);
    assert.match(answer.body, /expired/);
  });

  test("a model outside the key's list is a 403, in each door's shape, before any upstream is asked", async () => {
    const key = await createKey({ name: 'narrow', models: ['other-model'] });
    const before = fixture.alpha.requests.length;
    const openai = new OpenAI({ apiKey: key, baseURL: `${fixture.url}/v1`, maxRetries: 0 });
    await assert.rejects(
      openai.chat.completions.create({ model: 'test-model', messages: [{ role: 'user', content: 'hi' }] }),
      (error: unknown) => error instanceof OpenAI.PermissionDeniedError && error.code === 'model_not_allowed',
    );
    await assert.rejects(openai.responses.create({ model: 'test-model', input: 'hi' }), (error: unknown) => error instanceof OpenAI.PermissionDeniedError);
    const anthropic = new Anthropic({ apiKey: key, baseURL: fixture.url, maxRetries: 0 });
    await assert.rejects(
      anthropic.messages.create({ model: 'test-model', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }),
      (error: unknown) => error instanceof Anthropic.PermissionDeniedError && (error.error as { error?: { type?: string } }).error?.type === 'permission_error',
    );
    assert.equal(fixture.alpha.requests.length, before);
  });

  test('a spent budget is a 429 insufficient_quota (Anthropic: rate_limit_error); a cut stream is charged for what it streamed', async () => {
    const key = await createKey({ name: 'spender', budget_tokens: 30, budget_period: 'day' });
    const openai = new OpenAI({ apiKey: key, baseURL: `${fixture.url}/v1`, maxRetries: 0 });
    fixture.alpha.enqueue({ text: 'one two three four five six seven eight nine ten eleven twelve', usage: false, chunkCount: 12, disconnectAfterChunks: 6 });
    const stream = await openai.chat.completions.create({ model: 'test-model', stream: true, messages: [{ role: 'user', content: 'count' }] });
    await assert.rejects(async () => {
      for await (const _chunk of stream) {
        // read until the cut
      }
    });
    await waitFor(async () => {
      const usage = await admin('GET', '/admin/keys/usage?name=spender');
      return (usage.json.data as unknown[]).length === 1;
    }, 'the cut stream charged');
    const usage = (await admin('GET', '/admin/keys/usage?name=spender')).json.data as Array<{ completionTokens: number; provider: string }>;
    assert.ok((usage[0]?.completionTokens ?? 0) > 0 && (usage[0]?.completionTokens ?? 0) < 12, JSON.stringify(usage));
    fixture.alpha.setDefaultPlan({ text: 'a long answer '.repeat(10) });
    try {
      await openai.chat.completions.create({ model: 'test-model', messages: [{ role: 'user', content: 'spend' }] }).catch(() => undefined);
      await waitFor(async () => {
        const answer = await send(fixture.url, {
          method: 'POST',
          path: '/v1/chat/completions',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'test-model', messages: [{ role: 'user', content: 'x' }] }),
        });
        return answer.status === 429 && JSON.parse(answer.body).error.code === 'insufficient_quota' && answer.headers['retry-after'] !== undefined;
      }, 'the budget refused');
      const anthropic = new Anthropic({ apiKey: key, baseURL: fixture.url, maxRetries: 0 });
      await assert.rejects(
        anthropic.messages.create({ model: 'test-model', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }),
        (error: unknown) => error instanceof Anthropic.RateLimitError && /budget/.test(error.message),
      );
    } finally {
      fixture.alpha.setDefaultPlan({});
    }
    const metrics = await send(fixture.url, { method: 'GET', path: '/metrics', headers: { authorization: `Bearer ${STATIC}` } });
    assert.match(metrics.body, /^g4f_requests_total\{route="chat",provider="alpha",status="200",key="spender"\} \d+$/m);
    assert.match(metrics.body, /^g4f_tokens_total\{provider="alpha",kind="completion",key="spender"\} \d+$/m);
    assert.ok(!metrics.body.includes(key));
  });

  test("embeddings are checked and charged like chat: a model outside the key's list is a 403, an answer's tokens are the key's usage", async () => {
    const narrow = await createKey({ name: 'embed-narrow', models: ['other-model'] });
    const before = fixture.alpha.requests.length;
    const refused = new OpenAI({ apiKey: narrow, baseURL: `${fixture.url}/v1`, maxRetries: 0 });
    await assert.rejects(
      refused.embeddings.create({ model: 'test-model', input: 'hello' }),
      (error: unknown) => error instanceof OpenAI.PermissionDeniedError && error.code === 'model_not_allowed',
    );
    assert.equal(fixture.alpha.requests.length, before);
    const key = await createKey({ name: 'embedder' });
    const openai = new OpenAI({ apiKey: key, baseURL: `${fixture.url}/v1`, maxRetries: 0 });
    const result = await openai.embeddings.create({ model: 'test-model', input: ['hello there', 'world'], encoding_format: 'float' });
    assert.equal(result.data.length, 2);
    await waitFor(async () => {
      const usage = (await admin('GET', '/admin/keys/usage?name=embedder')).json.data as Array<{ promptTokens: number; completionTokens: number }>;
      return usage.length === 1 && (usage[0]?.promptTokens ?? 0) === result.usage.prompt_tokens && usage[0]?.completionTokens === 0;
    }, "the embeddings' tokens charged");
  });

  test('over the tokens or requests a minute: 429 rate_limit_exceeded with Retry-After', async () => {
    const key = await createKey({ name: 'tiny', tpm: 5 });
    const answer = async (): Promise<{ status: number; body: string; retry: unknown }> => {
      const reply = await send(fixture.url, {
        method: 'POST',
        path: '/v1/chat/completions',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'test-model', messages: [{ role: 'user', content: 'more than five tokens in this prompt' }] }),
      });
      return { status: reply.status, body: reply.body, retry: reply.headers['retry-after'] };
    };
    assert.equal((await answer()).status, 200);
    await waitFor(async () => {
      const refused = await answer();
      return refused.status === 429 && /rate_limit_exceeded/.test(refused.body) && Number(refused.retry) > 0;
    }, 'the tpm limit');
  });
});

describe('g4f keys and bad start-up input', { skip: built ? undefined : 'dist/ is not built: npm run build' }, () => {
  const run = (args: string[], environment: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } => {
    const result = spawnSync(process.execPath, [BIN, ...args], {
      env: { PATH: process.env.PATH, NO_COLOR: '1', ...environment },
      encoding: 'utf8',
      timeout: 30_000,
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  };

  test('create prints the key once; a taken name and limits that are not positive whole numbers are refused; list, usage, revoke', () => {
    const directory = mkdtempSync(join(tmpdir(), 'g4f-keys-cli-'));
    try {
      const created = run([
        'keys',
        'create',
        '--name',
        'team',
        '--rpm',
        '10',
        '--budget-tokens',
        '1000',
        '--budget-period',
        'month',
        '--models',
        'a,b',
        '--expires',
        '30d',
        '--data-dir',
        directory,
      ]);
      assert.equal(created.status, 0, created.stderr);
      const key = created.stdout.trim();
      assert.match(key, /^g4f-[\w-]{32}$/);
      const again = run(['keys', 'create', '--name', 'team', '--data-dir', directory]);
      assert.equal(again.status, 2);
      assert.match(again.stderr, /exists already/);
      for (const bad of [
        ['--rpm', '0'],
        ['--tpm', '-1'],
        ['--max-parallel', '2.5'],
        ['--budget-tokens', 'ten'],
      ]) {
        const refused = run(['keys', 'create', '--name', 'other', ...bad, '--data-dir', directory]);
        assert.equal(refused.status, 2, bad.join(' '));
        assert.match(refused.stderr, /positive whole number/);
      }
      const listed = run(['keys', 'list', '--data-dir', directory]);
      assert.equal(listed.status, 0);
      assert.match(listed.stdout, /team\s+active\s+10 rpm, 1000 tokens\/month, models a,b, expires/);
      assert.ok(!listed.stdout.includes(key));
      assert.equal(run(['keys', 'usage', 'team', '--json', '--data-dir', directory]).stdout.trim(), '[]');
      assert.equal(run(['keys', 'revoke', 'team', '--data-dir', directory]).status, 0);
      assert.match(run(['keys', 'list', '--json', '--data-dir', directory]).stdout, /"status": "revoked"/);
      assert.equal(run(['keys', 'revoke', 'nobody', '--data-dir', directory]).status, 2);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  test('a malformed G4F_DATABASE_URL or G4F_REDIS_URL stops g4f serve with one line and exit code 2', () => {
    for (const [name, value] of [
      ['G4F_DATABASE_URL', 'mysql://localhost/db'],
      ['G4F_DATABASE_URL', 'postgres://'],
      ['G4F_REDIS_URL', 'http://localhost:6379'],
      ['G4F_REDIS_URL', 'redis://:6379/x'],
    ] as const) {
      const result = run(['serve', '--port', '0'], { [name]: value });
      assert.equal(result.status, 2, `${name}=${value}: ${result.stderr}`);
      assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
      assert.match(result.stderr, new RegExp(`^g4f: error: ${name}: `));
    }
  });
});
