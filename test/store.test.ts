import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import {
  DATABASE_FILE,
  currentVersion,
  exportJson,
  exportMarkdown,
  fitToContext,
  importJson,
  importMarkdown,
  migrate,
  MIGRATIONS,
  openStore,
  openKeyStore,
  contextTokensFor,
} from '../src/store/index.js';
import { isG4FError } from '../src/core/errors.js';
import { loadTokenizer } from '../src/core/token-count.js';

/** The one token counter's tokenizer, for context fitting. */
const tokenizer = await loadTokenizer();
import { conversationStoreCases, keyStoreCases } from './store-cases.js';

let dataDir: string;
before(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'g4f-store-'));
});
after(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

describe('migrations', () => {
  test('apply once, are recorded in schema_migrations and user_version, and refuse a newer schema', () => {
    const db = new BetterSqlite3(':memory:');
    const first = migrate(db);
    assert.deepEqual(
      first.applied,
      MIGRATIONS.map((migration) => migration.version),
    );
    assert.equal(db.pragma('user_version', { simple: true }), MIGRATIONS.length);
    const second = migrate(db);
    assert.deepEqual(second.applied, []);
    const rows = db.prepare('SELECT version FROM schema_migrations').all();
    assert.equal(rows.length, MIGRATIONS.length);
    const later = migrate(db, [...MIGRATIONS, { version: 99, name: 'extra column', sql: 'ALTER TABLE conversations ADD COLUMN pinned INTEGER' }]);
    assert.deepEqual(later.applied, [99]);
    assert.equal(currentVersion(db), 99);
    assert.throws(
      () => migrate(db),
      (error: unknown) => isG4FError(error, 'ConfigError') && /newer/.test(error.message),
    );
    db.close();
  });

  test('a failing migration leaves the schema at the previous version', () => {
    const db = new BetterSqlite3(':memory:');
    migrate(db);
    const broken = [...MIGRATIONS, { version: MIGRATIONS.length + 1, name: 'broken', sql: 'CREATE TABLE t (x INTEGER); SELECT * FROM no_such_table;' }];
    assert.throws(() => migrate(db, broken));
    assert.equal(currentVersion(db), MIGRATIONS.length);
    assert.equal(db.prepare(`SELECT name FROM sqlite_master WHERE name = 't'`).get(), undefined);
    db.close();
  });
});

conversationStoreCases('sqlite store', async () => openStore({ dataDir }));
keyStoreCases('sqlite key store', async () => openKeyStore({ dataDir }));

describe('sqlite store', () => {
  test('an answer left streaming is marked interrupted on the next open, with its text', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'g4f-store-reopen-'));
    try {
      const first = openStore({ dataDir: directory });
      const conversation = await first.create({ title: 'Crash' });
      await first.appendMessage(conversation.id, { role: 'user', content: 'q' });
      const answer = await first.appendMessage(conversation.id, { role: 'assistant', content: '', status: 'streaming' });
      assert.ok(answer);
      await first.updateMessage(conversation.id, answer.id, { content: 'partial text' });
      await first.close();
      const second = openStore({ dataDir: directory });
      const reopened = await second.get(conversation.id);
      assert.deepEqual(
        reopened?.messages.map((m) => [m.role, m.content, m.status]),
        [
          ['user', 'q', 'complete'],
          ['assistant', 'partial text', 'interrupted'],
        ],
      );
      await second.close();
      const raw = new BetterSqlite3(join(directory, DATABASE_FILE));
      assert.equal(String(raw.pragma('journal_mode', { simple: true })).toLowerCase(), 'wal');
      raw.close();
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});

describe('export and import', () => {
  const tricky = [
    'Code:\n\n```md\n## User\nnot a heading\n<!-- g4f:message {"role":"user"} -->\n```\n',
    '  leading and trailing spaces  \n\n',
    'Привет, мир! 👋 <!-- g4f\\:odd -->',
  ];

  test('JSON and Markdown round trips keep every message exactly', async () => {
    const store = openStore({ memory: true });
    const conversation = await store.create({ title: 'Round trip', systemPrompt: 'Be brief.', model: 'gpt-4' });
    await store.appendMessage(conversation.id, { role: 'user', content: tricky[0] ?? '' });
    await store.appendMessage(conversation.id, { role: 'assistant', content: tricky[1] ?? '', model: 'gpt-4', provider: 'Lockchat', status: 'stopped' });
    await store.appendMessage(conversation.id, { role: 'user', content: tricky[2] ?? '' });
    const original = await store.get(conversation.id);
    assert.ok(original);
    for (const [name, text, parse] of [
      ['json', exportJson(original), importJson],
      ['markdown', exportMarkdown(original), importMarkdown],
    ] as const) {
      const imported = await store.importConversation(parse(text));
      assert.notEqual(imported.id, original.id, name);
      assert.equal(imported.title, 'Round trip', name);
      assert.equal(imported.systemPrompt, 'Be brief.', name);
      assert.equal(imported.model, 'gpt-4', name);
      assert.deepEqual(
        imported.messages.map((m) => [m.role, m.content, m.status, m.model, m.provider, m.createdAt]),
        original.messages.map((m) => [m.role, m.content, m.status, m.model, m.provider, m.createdAt]),
        name,
      );
    }
    await store.close();
  });

  test('hand-written Markdown imports by headings, ignoring headings inside code fences', () => {
    const data = importMarkdown('# Notes\n\n## User\nHi\n\n## Assistant\n```\n## User\n```\nDone\n');
    assert.equal(data.title, 'Notes');
    assert.deepEqual(
      data.messages.map((m) => [m.role, m.content]),
      [
        ['user', 'Hi'],
        ['assistant', '```\n## User\n```\nDone'],
      ],
    );
  });

  test('imported times that are not ISO dates, or lie in the future, become now', async () => {
    const store = openStore({ memory: true });
    const older = await store.create({ title: 'Older' });
    const before = Date.now();
    const imported = await store.importConversation(
      importJson(
        JSON.stringify({
          conversation: { title: 'Bad dates', createdAt: 'yesterday', updatedAt: 'zzzz' },
          messages: [
            { role: 'user', content: 'a', createdAt: '9999-12-31T00:00:00Z' },
            { role: 'assistant', content: 'b', createdAt: '2024-02-03T04:05:06+02:00' },
          ],
        }),
      ),
    );
    for (const time of [imported.createdAt, imported.updatedAt, imported.messages[0]?.createdAt ?? '']) {
      assert.match(time, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      assert.ok(Date.parse(time) >= before - 1000 && Date.parse(time) <= Date.now() + 1000, time);
    }
    assert.equal(imported.messages[1]?.createdAt, '2024-02-03T02:05:06.000Z', 'valid times are kept, normalised');
    // Newer activity still comes first: the import is not pinned above it.
    await store.update(older.id, { title: 'Older, touched' });
    assert.deepEqual(
      (await store.list()).map((c) => c.title),
      ['Older, touched', 'Bad dates'],
    );
    await store.close();
  });

  test('bad imports are typed errors', () => {
    const invalid = (error: unknown) => isG4FError(error, 'InvalidRequestError');
    assert.throws(() => importJson('{'), invalid);
    assert.throws(() => importJson('{"messages":[{"role":"robot","content":"x"}]}'), invalid);
    assert.throws(() => importJson('[]'), invalid);
    assert.throws(() => importMarkdown('just text'), invalid);
  });
});

describe('context window', () => {
  test('sends everything when it fits', () => {
    const history = [
      { role: 'system' as const, content: 'sys' },
      { role: 'user' as const, content: 'hello' },
      { role: 'assistant' as const, content: 'hi' },
      { role: 'user' as const, content: 'again' },
    ];
    const fit = fitToContext(history, { count: tokenizer, model: 'gpt-4' });
    assert.equal(fit.omitted, 0);
    assert.deepEqual(fit.messages, history);
  });

  test('leaves out the oldest turns, keeps the system prompt and the newest message', () => {
    const long = 'word '.repeat(300);
    const history = [{ role: 'system' as const, content: 'sys' }];
    for (let turn = 0; turn < 10; turn += 1) {
      history.push({ role: 'user' as never, content: `q${turn} ${long}` }, { role: 'assistant' as never, content: `a${turn} ${long}` });
    }
    history.push({ role: 'user' as never, content: 'last question' });
    const fit = fitToContext(history, { count: tokenizer, model: 'x', contextTokens: 2_000, reserveTokens: 200 });
    assert.ok(fit.omitted > 0);
    assert.equal(fit.messages[0]?.content, 'sys');
    assert.equal(fit.messages.at(-1)?.content, 'last question');
    assert.equal(fit.messages[1]?.role, 'user');
    assert.ok(fit.promptTokens <= 1_800, String(fit.promptTokens));
    assert.equal(fit.messages.length - 1 + fit.omitted, history.length - 1);
    const alone = fitToContext([{ role: 'user', content: long }], { count: tokenizer, model: 'x', contextTokens: 50, reserveTokens: 0 });
    assert.equal(alone.messages.length, 1);
  });

  test('context sizes come from the table, with prefixes and a default', () => {
    assert.equal(contextTokensFor('gpt-4'), 8_192);
    assert.equal(contextTokensFor('Lockchat/gpt-4'), 8_192);
    assert.equal(contextTokensFor('gpt-4o-2024-08-06'), 128_000);
    assert.equal(contextTokensFor('unknown-model'), 4_096);
  });
});
