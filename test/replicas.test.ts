/**
 * Two `g4f serve` processes sharing one PostgreSQL and one Redis (each started here, on 127.0.0.1,
 * in temporary folders), in front of emulated upstreams: conversations, key limits, budgets and
 * circuits are shared; Redis and PostgreSQL going away are no outage.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { createEmulator, type Emulator } from '../src/emulators/index.js';
import { freePort, servicesMissing, startPostgres, startRedis, waitFor, type PostgresService, type RedisService } from './services.js';

const BIN = join(import.meta.dirname, '..', 'bin', 'g4f.js');
const built = existsSync(join(import.meta.dirname, '..', 'dist', 'cli', 'main.js'));
const missing = servicesMissing() ?? (built ? undefined : 'dist/ is not built: npm run build');
const ADMIN = 'admin-secret-for-tests';

interface Replica {
  url: string;
  child: ChildProcess;
  stderr(): string;
}

let folder: string;
let postgres: PostgresService;
let redis: RedisService;
let up: Emulator;
let backup: Emulator;
let slow: Emulator;
let config: string;
let replicas: Replica[] = [];

function environment(): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: folder,
    G4F_DATA_DIR: join(folder, 'data'),
    G4F_DATABASE_URL: postgres.url,
    G4F_REDIS_URL: redis.url,
    G4F_ADMIN_KEY: ADMIN,
    NO_COLOR: '1',
  };
}

/** `g4f keys create` against the shared database; the key it prints. */
function createKey(...args: string[]): string {
  const result = spawnSync(process.execPath, [BIN, 'keys', 'create', ...args, '--config', config], { env: environment(), encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  return result.stdout.trim();
}

async function startReplica(): Promise<Replica> {
  const port = await freePort();
  const child = spawn(process.execPath, [BIN, 'serve', '--port', String(port), '--config', config, '--log-format', 'json'], {
    env: environment(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const url = `http://127.0.0.1:${port}`;
  await new Promise<void>((resolve, reject) => {
    let stdout = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('listening on')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`g4f serve exited with ${code}: ${stderr}`)));
  });
  return { url, child, stderr: () => stderr };
}

async function stopReplica(replica: Replica): Promise<void> {
  if (replica.child.exitCode !== null) return;
  const exited = new Promise((resolve) => replica.child.once('exit', resolve));
  replica.child.kill('SIGTERM');
  await exited;
}

async function chat(replica: Replica, key: string, model = 'test-model', content = 'hi'): Promise<Response> {
  return fetch(`${replica.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ model, messages: [{ role: 'user', content }] }),
  });
}

async function metric(replica: Replica, name: string, key: string): Promise<string> {
  const text = await (await fetch(`${replica.url}/metrics`, { headers: { authorization: `Bearer ${key}` } })).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith(name))
    .join('\n');
}

describe('two replicas on one PostgreSQL and one Redis', { skip: missing }, () => {
  let open: string;
  before(async () => {
    folder = mkdtempSync(join(tmpdir(), 'g4f-replicas-'));
    [postgres, redis, up, backup, slow] = await Promise.all([
      startPostgres(),
      startRedis(),
      createEmulator({ protocol: 'openai' }),
      createEmulator({ protocol: 'openai' }),
      createEmulator({ protocol: 'openai' }),
    ]);
    config = join(folder, 'g4f.config.json');
    writeFileSync(
      config,
      JSON.stringify({
        providers: [
          { type: 'openai-compatible', name: 'up', baseUrl: `${up.url}/v1`, models: ['test-model'] },
          { type: 'openai-compatible', name: 'backup', baseUrl: `${backup.url}/v1`, models: ['test-model'] },
          { type: 'openai-compatible', name: 'slow', baseUrl: `${slow.url}/v1`, models: ['slow-model'] },
        ],
        models: { 'test-model': ['up', 'backup'], 'slow-model': ['slow'] },
        retry: { attempts: 1 },
        circuit: { failureThreshold: 2, cooldownMs: 600_000 },
      }),
    );
    // A key exists before the replicas start: every request needs one.
    open = createKey('--name', 'open');
    replicas = await Promise.all([startReplica(), startReplica()]);
  });
  after(async () => {
    await Promise.all(replicas.map(stopReplica));
    await Promise.all([postgres?.close(), redis?.close(), up?.close(), backup?.close(), slow?.close()]);
    rmSync(folder, { recursive: true, force: true });
  });

  test('a conversation made through one replica is read and continued through the other', async () => {
    const [a, b] = replicas as [Replica, Replica];
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${open}` };
    // The Responses API: stored by A, continued by B.
    const first = await fetch(`${a.url}/v1/responses`, { method: 'POST', headers, body: JSON.stringify({ model: 'test-model', input: 'first question' }) });
    assert.equal(first.status, 200, await first.clone().text());
    const firstBody = (await first.json()) as { id: string };
    const second = await fetch(`${b.url}/v1/responses`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ model: 'test-model', input: 'second question', previous_response_id: firstBody.id }),
    });
    assert.equal(second.status, 200, await second.clone().text());
    const sent = (up.requests.at(-1)?.body as { messages: Array<{ content: unknown }> }).messages.map((message) => JSON.stringify(message.content));
    assert.ok(
      sent.some((text) => text.includes('first question')) && sent.some((text) => text.includes('second question')),
      'B sent the conversation A stored',
    );
    assert.equal((await fetch(`${b.url}/v1/responses/${firstBody.id}`, { headers })).status, 200);
    // The page's conversations: made and answered on A, read and continued on B.
    const page = { 'content-type': 'application/json' };
    const made = (await (await fetch(`${a.url}/api/conversations`, { method: 'POST', headers: page, body: JSON.stringify({ title: 'Shared' }) })).json()) as {
      id: string;
    };
    const answerOnA = await fetch(`${a.url}/api/conversations/${made.id}/messages`, {
      method: 'POST',
      headers: page,
      body: JSON.stringify({ content: 'hello from A', model: 'test-model' }),
    });
    assert.equal(answerOnA.status, 200);
    await answerOnA.text();
    const answerOnB = await fetch(`${b.url}/api/conversations/${made.id}/messages`, {
      method: 'POST',
      headers: page,
      body: JSON.stringify({ content: 'hello from B', model: 'test-model' }),
    });
    assert.equal(answerOnB.status, 200);
    await answerOnB.text();
    const read = (await (await fetch(`${a.url}/api/conversations/${made.id}`)).json()) as { messages: Array<{ role: string; content: string }> };
    assert.deepEqual(
      read.messages.map((message) => message.role),
      ['user', 'assistant', 'user', 'assistant'],
    );
    assert.equal(read.messages[2]?.content, 'hello from B');
    // The command line reads the same database.
    const listed = spawnSync(process.execPath, [BIN, 'conversations', '--json'], { env: environment(), encoding: 'utf8' });
    assert.equal(listed.status, 0, listed.stderr);
    assert.ok((JSON.parse(listed.stdout) as Array<{ id: string }>).some((conversation) => conversation.id === made.id));
  });

  test('a key limited to 10 requests a minute gets its 11th refused, whichever replica it reaches', async () => {
    const key = createKey('--name', 'ten', '--rpm', '10');
    const clients = replicas.map((replica) => new OpenAI({ apiKey: key, baseURL: `${replica.url}/v1`, maxRetries: 0 }));
    for (let index = 0; index < 10; index++) {
      const answer = await (clients[index % 2] as OpenAI).chat.completions.create({ model: 'test-model', messages: [{ role: 'user', content: `n${index}` }] });
      assert.match(answer.choices[0]?.message.content ?? '', /Echo/);
    }
    for (const client of clients) {
      await assert.rejects(
        client.chat.completions.create({ model: 'test-model', messages: [{ role: 'user', content: 'one too many' }] }),
        (error: unknown) => error instanceof OpenAI.RateLimitError && error.code === 'rate_limit_exceeded' && Number(error.headers?.get('retry-after')) > 0,
      );
    }
  });

  test('a provider whose circuit opened on one replica is skipped by the other', async () => {
    const [a, b] = replicas as [Replica, Replica];
    up.setDefaultPlan({ status: 500 });
    try {
      for (let index = 0; index < 2; index++) assert.equal((await chat(a, open)).status, 200); // answered by backup
      await waitFor(
        async () => {
          const health = (await (await fetch(`${b.url}/health`)).json()) as { providers: { open: string[] } };
          return health.providers.open.includes('up');
        },
        'the circuit of up open on B',
        5_000,
      );
      const before = up.requests.length;
      const answer = await chat(b, open);
      assert.equal(answer.status, 200);
      assert.equal(answer.headers.get('x-g4f-provider'), 'backup');
      assert.equal(up.requests.length, before, 'B did not ask up');
    } finally {
      up.setDefaultPlan({});
    }
  });

  test("a key's budget spent across both replicas stops both", async () => {
    const key = createKey('--name', 'budget', '--budget-tokens', '40');
    const [a, b] = replicas as [Replica, Replica];
    const statuses: number[] = [];
    let refused: Response | undefined;
    for (let index = 0; index < 12 && refused === undefined; index++) {
      const answer = await chat(index % 2 === 0 ? a : b, key, 'test-model', 'spend some tokens of the budget please');
      statuses.push(answer.status);
      if (answer.status === 429) refused = answer;
      else await answer.text();
    }
    assert.ok(refused, `never refused: ${statuses.join(',')}`);
    const body = (await refused.json()) as { error: { code: string; type: string } };
    assert.equal(body.error.code, 'insufficient_quota');
    assert.ok(statuses.filter((status) => status === 200).length >= 2, 'both replicas spent it');
    for (const replica of [a, b]) assert.equal((await chat(replica, key)).status, 429);
  });

  test('200 requests at once across both replicas against --max-parallel 5: never more than 5 in flight at the upstream', async () => {
    const key = createKey('--name', 'five', '--max-parallel', '5');
    let most = 0;
    slow.setScript(() => {
      most = Math.max(most, slow.inFlight());
      return { headerDelayMs: 50 };
    });
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, index) =>
        chat(replicas[index % 2] as Replica, key, 'slow-model').then(async (answer) => ({ status: answer.status, body: await answer.text() })),
      ),
    );
    slow.setScript(undefined);
    const ok = answers.filter((answer) => answer.status === 200).length;
    const refused = answers.filter((answer) => answer.status === 429);
    assert.equal(ok + refused.length, 200, answers.map((answer) => answer.status).join(','));
    assert.ok(ok >= 5, `${ok} answered`);
    assert.ok(refused.every((answer) => answer.body.includes('rate_limit_exceeded')));
    assert.ok(most <= 5 && most >= 1, `at most ${most} in flight at the upstream`);
  });

  test('Redis killed: requests are still answered, with one warning and the metric; Redis back: shared again', async () => {
    const [a, b] = replicas as [Replica, Replica];
    await redis.kill();
    for (let index = 0; index < 3; index++) assert.equal((await chat(a, open)).status, 200);
    assert.match(await metric(a, 'g4f_shared_state_degraded', open), /g4f_shared_state_degraded 1/);
    assert.equal(
      a
        .stderr()
        .split('\n')
        .filter((line) => line.includes('shared-state-degraded')).length,
      1,
      a.stderr(),
    );
    await redis.start();
    await waitFor(async () => /g4f_shared_state_degraded 0/.test(await metric(a, 'g4f_shared_state_degraded', open)), 'A back on Redis');
    await waitFor(async () => /g4f_shared_state_degraded 0/.test(await metric(b, 'g4f_shared_state_degraded', open)), 'B back on Redis');
    const key = createKey('--name', 'three', '--rpm', '3');
    for (let index = 0; index < 3; index++) assert.equal((await chat(a, key)).status, 200);
    assert.equal((await chat(b, key)).status, 429, 'B counts what A counted');
  });

  test('PostgreSQL stopped: the chat doors keep answering, saving reports its error, and nothing stored is lost', async () => {
    const [a, b] = replicas as [Replica, Replica];
    const page = { 'content-type': 'application/json' };
    const kept = (await (await fetch(`${a.url}/api/conversations`, { method: 'POST', headers: page, body: JSON.stringify({ title: 'Kept' }) })).json()) as {
      id: string;
    };
    assert.equal((await chat(a, open)).status, 200);
    await postgres.stop();
    try {
      for (const replica of [a, b]) {
        const answer = await chat(replica, open);
        assert.equal(answer.status, 200, await answer.text());
      }
      const saving = await fetch(`${a.url}/api/conversations`, { method: 'POST', headers: page, body: JSON.stringify({ title: 'Lost' }) });
      assert.ok(saving.status >= 500, `saving answered ${saving.status}`);
      assert.match(await saving.text(), /error/);
    } finally {
      await postgres.start();
    }
    await waitFor(async () => (await fetch(`${b.url}/api/conversations/${kept.id}`)).status === 200, 'the conversation read again', 10_000);
    const usage = spawnSync(process.execPath, [BIN, 'keys', 'usage', 'open', '--json', '--config', config], { env: environment(), encoding: 'utf8' });
    assert.equal(usage.status, 0, usage.stderr);
    assert.ok((JSON.parse(usage.stdout) as unknown[]).length > 0);
  });
});
