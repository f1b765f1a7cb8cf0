/** The response store and the key store on PostgreSQL, on the pool the conversation store shares. */
import { InvalidRequestError } from '../core/errors.js';
import { dayOf, duplicateName, KEY_COLUMNS, keyValues, toKeyRecord, toUsageRow, type KeyRow, type KeyStore, type UsageRowData } from './keys.js';
import { sharedPool, type SharedPool } from './postgres.js';
import type { ResponseStore } from './response-store.js';

/** Waits for the schema on every call; refuses once closed. */
function opener(shared: SharedPool, what: string): { open(): Promise<void>; close(): Promise<void> } {
  let closed = false;
  return {
    async open() {
      if (closed) throw new InvalidRequestError(`The ${what} is closed`);
      await shared.ready();
    },
    async close() {
      if (closed) return;
      closed = true;
      await shared.release();
    },
  };
}

export function createPostgresResponseStore(url: string): ResponseStore {
  const shared = sharedPool(url);
  const { pool } = shared;
  const { open, close } = opener(shared, 'response store');
  return {
    async put(record) {
      await open();
      await pool.query(
        `INSERT INTO responses (id, owner, status, model, created_at, response, history) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, status = excluded.status, model = excluded.model,
           created_at = excluded.created_at, response = excluded.response, history = excluded.history`,
        [record.id, record.owner, record.status, record.model, Math.floor(record.createdAt), JSON.stringify(record.response), JSON.stringify(record.history)],
      );
    },
    async get(id, owner) {
      await open();
      const row = (
        await pool.query<{ id: string; owner: string; status: string; model: string; created_at: string; response: string; history: string }>(
          `SELECT * FROM responses WHERE id = $1 AND (owner = '' OR owner = $2)`,
          [id, owner],
        )
      ).rows[0];
      if (row === undefined) return undefined;
      return {
        id: row.id,
        owner: row.owner,
        status: row.status,
        model: row.model,
        createdAt: Number(row.created_at),
        response: JSON.parse(row.response) as unknown,
        history: JSON.parse(row.history) as unknown,
      };
    },
    async delete(id, owner) {
      await open();
      return ((await pool.query(`DELETE FROM responses WHERE id = $1 AND (owner = '' OR owner = $2)`, [id, owner])).rowCount ?? 0) > 0;
    },
    close,
  };
}

export function createPostgresKeyStore(url: string): KeyStore {
  const shared = sharedPool(url);
  const { pool } = shared;
  const { open, close } = opener(shared, 'key store');
  const placeholders = KEY_COLUMNS.split(',')
    .map((_, index) => `$${index + 1}`)
    .join(', ');
  return {
    async insert(record) {
      await open();
      const inserted = await pool.query(`INSERT INTO api_keys (${KEY_COLUMNS}) VALUES (${placeholders}) ON CONFLICT (name) DO NOTHING`, keyValues(record));
      if ((inserted.rowCount ?? 0) === 0) throw duplicateName(record.name);
    },
    async list() {
      await open();
      return (await pool.query<KeyRow>('SELECT * FROM api_keys ORDER BY name')).rows.map(toKeyRecord);
    },
    async findByHash(hash) {
      await open();
      const row = (await pool.query<KeyRow>('SELECT * FROM api_keys WHERE hash = $1', [hash])).rows[0];
      return row === undefined ? undefined : toKeyRecord(row);
    },
    async revoke(name) {
      await open();
      return (
        ((await pool.query('UPDATE api_keys SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL', [new Date().toISOString(), name])).rowCount ?? 0) > 0
      );
    },
    async recordUsage(entry) {
      await open();
      await pool.query(
        `WITH used AS (UPDATE api_keys SET last_used_at = $7 WHERE name = $1)
         INSERT INTO key_usage (key_name, day, model, provider, requests, prompt_tokens, completion_tokens) VALUES ($1, $2, $3, $4, $8, $5, $6)
         ON CONFLICT (key_name, day, model, provider) DO UPDATE SET requests = key_usage.requests + excluded.requests,
           prompt_tokens = key_usage.prompt_tokens + excluded.prompt_tokens, completion_tokens = key_usage.completion_tokens + excluded.completion_tokens`,
        [entry.key, dayOf(entry.at), entry.model, entry.provider, entry.promptTokens, entry.completionTokens, entry.at.toISOString(), entry.requests ?? 1],
      );
    },
    async usage(options = {}) {
      await open();
      const rows = await pool.query<UsageRowData>(
        `SELECT * FROM key_usage WHERE ($1::text IS NULL OR key_name = $1) AND ($2::text IS NULL OR day >= $2) ORDER BY day, key_name, model, provider`,
        [options.key ?? null, options.sinceDay ?? null],
      );
      return rows.rows.map(toUsageRow);
    },
    close,
  };
}
