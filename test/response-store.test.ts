/** The store of the Responses API's stored responses: ownership, the shared database file, and a store that cannot open. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { createSqliteResponseStore, DATABASE_FILE, openResponseStore, openStore } from '../src/store/index.js';
import { postChat, send, startFixture } from './server-fixture.js';

import { record, responseStoreCases } from './store-cases.js';

let dataDir: string;
before(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'g4f-response-store-'));
});
after(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

responseStoreCases('the sqlite response store', async () => createSqliteResponseStore(':memory:'));

describe('the response store', () => {
  test('lives in the conversation database, beside the conversations', async () => {
    const conversations = openStore({ dataDir });
    const responses = openResponseStore({ dataDir });
    await conversations.create({ title: 'kept' });
    await responses.put(record('resp_shared', ''));
    await Promise.all([conversations.close(), responses.close()]);
    const db = new BetterSqlite3(join(dataDir, DATABASE_FILE), { readonly: true });
    const tables = (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).all() as Array<{ name: string }>).map((row) => row.name);
    assert.ok(tables.includes('responses') && tables.includes('conversations'));
    assert.equal((db.prepare('SELECT COUNT(*) AS count FROM responses').get() as { count: number }).count, 1);
    db.close();
  });

  test('a server whose store cannot open refuses stored responses before asking an upstream; store: false still works', async () => {
    const notADirectory = join(dataDir, 'a-file');
    writeFileSync(notADirectory, 'not a directory');
    const fixture = await startFixture({ dataDir: notADirectory });
    try {
      const stored = await send(fixture.url, {
        method: 'POST',
        path: '/v1/responses',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'test-model', input: 'hi', stream: true }),
      });
      assert.equal(stored.status, 500);
      assert.equal(fixture.alpha.requests.length, 0);
      const unstored = await send(fixture.url, {
        method: 'POST',
        path: '/v1/responses',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'test-model', input: 'hi', store: false }),
      });
      assert.equal(unstored.status, 200, unstored.body);
      // The rest of the server is unaffected.
      assert.equal((await postChat(fixture.url, { model: 'test-model', messages: [{ role: 'user', content: 'hi' }] })).status, 200);
    } finally {
      await fixture.close();
    }
  });
});
