/**
 * Stored responses of the Responses API (`store: true`): the response object as the client saw
 * it, and the conversation it holds, so that `previous_response_id` continues it. They live in
 * the `responses` table of the conversation database (migration 3), through a connection of
 * their own. Each belongs to the API key that made it (its SHA-256); one made where no key was
 * needed (owner `''`) is everyone's.
 */
import BetterSqlite3 from 'better-sqlite3';
import type { Database } from 'better-sqlite3';
import { InvalidRequestError } from '../core/errors.js';
import { migrate } from './migrations.js';

export interface StoredResponse {
  /** `resp_...` */
  id: string;
  /** The SHA-256 (hex) of the API key that made it; `''` when none was needed. */
  owner: string;
  status: string;
  model: string;
  /** Unix seconds. */
  createdAt: number;
  /** The response object, as sent to the client (a JSON value). */
  response: unknown;
  /** The conversation up to and including this response's own turn (a JSON value). */
  history: unknown;
}

export interface ResponseStore {
  /** Adds a response (or replaces the one with its id). */
  put(record: StoredResponse): Promise<void>;
  /** The response with this id, when it is `owner`'s or everyone's. */
  get(id: string, owner: string): Promise<StoredResponse | undefined>;
  /** False when there is no such response of `owner`'s (or everyone's). */
  delete(id: string, owner: string): Promise<boolean>;
  close(): Promise<void>;
}

interface ResponseRow {
  id: string;
  owner: string;
  status: string;
  model: string;
  created_at: number;
  response: string;
  history: string;
}

/** The store on a SQLite file (`:memory:` for one that lasts as long as the process). */
export function createSqliteResponseStore(filename: string): ResponseStore {
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
    put: db.prepare(
      `INSERT OR REPLACE INTO responses (id, owner, status, model, created_at, response, history)
       VALUES (@id, @owner, @status, @model, @created_at, @response, @history)`,
    ),
    get: db.prepare(`SELECT * FROM responses WHERE id = ? AND (owner = '' OR owner = ?)`),
    delete: db.prepare(`DELETE FROM responses WHERE id = ? AND (owner = '' OR owner = ?)`),
  };
  let closed = false;
  const guard = (): void => {
    if (closed) throw new InvalidRequestError('The response store is closed');
  };
  return {
    async put(record) {
      guard();
      const row: ResponseRow = {
        id: record.id,
        owner: record.owner,
        status: record.status,
        model: record.model,
        created_at: Math.floor(record.createdAt),
        response: JSON.stringify(record.response),
        history: JSON.stringify(record.history),
      };
      statements.put.run(row);
    },
    async get(id, owner) {
      guard();
      const row = statements.get.get(id, owner) as ResponseRow | undefined;
      if (row === undefined) return undefined;
      return {
        id: row.id,
        owner: row.owner,
        status: row.status,
        model: row.model,
        createdAt: row.created_at,
        response: JSON.parse(row.response) as unknown,
        history: JSON.parse(row.history) as unknown,
      };
    },
    async delete(id, owner) {
      guard();
      return statements.delete.run(id, owner).changes > 0;
    },
    async close() {
      if (closed) return;
      closed = true;
      db.close();
    },
  };
}
