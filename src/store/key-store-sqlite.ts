/** The key store on the SQLite conversation database, through a connection of its own. */
import BetterSqlite3 from 'better-sqlite3';
import type { Database } from 'better-sqlite3';
import { InvalidRequestError } from '../core/errors.js';
import { dayOf, duplicateName, KEY_COLUMNS, keyValues, toKeyRecord, toUsageRow, type KeyRow, type KeyStore, type UsageRowData } from './keys.js';
import { migrate } from './migrations.js';

export function createSqliteKeyStore(filename: string): KeyStore {
  const db: Database = new BetterSqlite3(filename);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    migrate(db);
  } catch (error) {
    db.close();
    throw error;
  }
  const statements = {
    insert: db.prepare(
      `INSERT INTO api_keys (${KEY_COLUMNS}) VALUES (${KEY_COLUMNS.split(',')
        .map(() => '?')
        .join(', ')})`,
    ),
    byName: db.prepare('SELECT name FROM api_keys WHERE name = ?'),
    list: db.prepare('SELECT * FROM api_keys ORDER BY name'),
    byHash: db.prepare('SELECT * FROM api_keys WHERE hash = ?'),
    revoke: db.prepare('UPDATE api_keys SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL'),
    usage: db.prepare(
      `INSERT INTO key_usage (key_name, day, model, provider, requests, prompt_tokens, completion_tokens) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (key_name, day, model, provider) DO UPDATE SET requests = requests + excluded.requests,
         prompt_tokens = prompt_tokens + excluded.prompt_tokens, completion_tokens = completion_tokens + excluded.completion_tokens`,
    ),
    lastUsed: db.prepare('UPDATE api_keys SET last_used_at = ? WHERE name = ?'),
    rows: db.prepare(
      `SELECT * FROM key_usage WHERE (@key IS NULL OR key_name = @key) AND (@since IS NULL OR day >= @since) ORDER BY day, key_name, model, provider`,
    ),
  };
  let closed = false;
  const guard = (): void => {
    if (closed) throw new InvalidRequestError('The key store is closed');
  };
  const insert = db.transaction((values: Array<string | number | null>, name: string) => {
    if (statements.byName.get(name) !== undefined) throw duplicateName(name);
    statements.insert.run(...values);
  });
  const record = db.transaction((values: [string, string, string, string, number, number, number], at: string) => {
    statements.usage.run(...values);
    statements.lastUsed.run(at, values[0]);
  });
  return {
    async insert(key) {
      guard();
      insert(keyValues(key), key.name);
    },
    async list() {
      guard();
      return (statements.list.all() as KeyRow[]).map(toKeyRecord);
    },
    async findByHash(hash) {
      guard();
      const row = statements.byHash.get(hash) as KeyRow | undefined;
      return row === undefined ? undefined : toKeyRecord(row);
    },
    async revoke(name) {
      guard();
      return statements.revoke.run(new Date().toISOString(), name).changes > 0;
    },
    async recordUsage(entry) {
      guard();
      record(
        [entry.key, dayOf(entry.at), entry.model, entry.provider, entry.requests ?? 1, entry.promptTokens, entry.completionTokens],
        entry.at.toISOString(),
      );
    },
    async usage(options = {}) {
      guard();
      return (statements.rows.all({ key: options.key ?? null, since: options.sinceDay ?? null }) as UsageRowData[]).map(toUsageRow);
    },
    async close() {
      if (closed) return;
      closed = true;
      db.close();
    },
  };
}
