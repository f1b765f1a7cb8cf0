/**
 * Versioned schema migrations of the store, one list for SQLite and PostgreSQL: each version has
 * its statements in both dialects. Each migration runs once, in its own transaction, and is
 * recorded in `schema_migrations` (and, in SQLite, in `PRAGMA user_version`).
 * Migrations are append-only: never edit one that has shipped, add the next version.
 */
import type { Database } from 'better-sqlite3';
import { ConfigError } from '../core/errors.js';

export interface Migration {
  version: number;
  name: string;
  /** SQLite's statements. */
  sql: string;
  /** The same change in PostgreSQL's dialect (postgres-migrations.ts runs these). */
  postgres?: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'conversations and messages',
    sql: `
      CREATE TABLE conversations (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        system_prompt TEXT NOT NULL DEFAULT '',
        model TEXT NOT NULL DEFAULT '',
        provider TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE INDEX conversations_by_update ON conversations (updated_at DESC);
      CREATE TABLE messages (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
        role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
        content TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'complete'
          CHECK (status IN ('complete', 'streaming', 'stopped', 'interrupted')),
        model TEXT,
        provider TEXT,
        created_at TEXT NOT NULL
      );
      CREATE INDEX messages_by_conversation ON messages (conversation_id, seq);
    `,
    postgres: `
      CREATE TABLE conversations (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        system_prompt TEXT NOT NULL DEFAULT '',
        model TEXT NOT NULL DEFAULT '',
        provider TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE INDEX conversations_by_update ON conversations (updated_at DESC);
      CREATE TABLE messages (
        seq BIGSERIAL PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
        role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
        content TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'complete'
          CHECK (status IN ('complete', 'streaming', 'stopped', 'interrupted')),
        model TEXT,
        provider TEXT,
        created_at TEXT NOT NULL
      );
      CREATE INDEX messages_by_conversation ON messages (conversation_id, seq);
    `,
  },
  {
    version: 2,
    name: 'images of messages and reasoning of answers',
    // The size check is the per-image limit of limits.ts when this shipped (5 MiB); the store
    // checks the current limits (each, per message, per conversation) before writing.
    sql: `
      ALTER TABLE messages ADD COLUMN reasoning TEXT;
      CREATE TABLE attachments (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        message_id TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
        conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
        kind TEXT NOT NULL DEFAULT 'image' CHECK (kind IN ('image')),
        media_type TEXT NOT NULL CHECK (media_type IN ('image/png', 'image/jpeg', 'image/gif', 'image/webp')),
        bytes INTEGER NOT NULL CHECK (bytes BETWEEN 1 AND 5242880),
        data BLOB NOT NULL CHECK (length(data) = bytes)
      );
      CREATE INDEX attachments_by_message ON attachments (message_id, seq);
      CREATE INDEX attachments_by_conversation ON attachments (conversation_id, seq);
    `,
    postgres: `
      ALTER TABLE messages ADD COLUMN reasoning TEXT;
      CREATE TABLE attachments (
        seq BIGSERIAL PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        message_id TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
        conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
        kind TEXT NOT NULL DEFAULT 'image' CHECK (kind IN ('image')),
        media_type TEXT NOT NULL CHECK (media_type IN ('image/png', 'image/jpeg', 'image/gif', 'image/webp')),
        bytes INTEGER NOT NULL CHECK (bytes BETWEEN 1 AND 5242880),
        data BYTEA NOT NULL CHECK (length(data) = bytes)
      );
      CREATE INDEX attachments_by_message ON attachments (message_id, seq);
      CREATE INDEX attachments_by_conversation ON attachments (conversation_id, seq);
    `,
  },
  {
    version: 3,
    name: 'stored responses of the Responses API',
    // owner: the SHA-256 of the API key that made the response ('' when the server needs none).
    // response: the response object as JSON; history: the conversation it continues and its
    // own turn (input and output) as contract messages, what previous_response_id picks up.
    sql: `
      CREATE TABLE responses (
        id TEXT PRIMARY KEY,
        owner TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL,
        model TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        response TEXT NOT NULL,
        history TEXT NOT NULL
      );
      CREATE INDEX responses_by_creation ON responses (created_at);
    `,
    postgres: `
      CREATE TABLE responses (
        id TEXT PRIMARY KEY,
        owner TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL,
        model TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        response TEXT NOT NULL,
        history TEXT NOT NULL
      );
      CREATE INDEX responses_by_creation ON responses (created_at);
    `,
  },
  {
    version: 4,
    name: 'API keys with limits, and their usage per day, model and provider',
    // hash: the SHA-256 (hex) of the key, never the key. models: a JSON array, NULL for any.
    // Times are ISO strings, as everywhere else in the schema.
    sql: `
      CREATE TABLE api_keys (
        name TEXT PRIMARY KEY,
        hash TEXT NOT NULL UNIQUE,
        prefix TEXT NOT NULL,
        rpm INTEGER,
        tpm INTEGER,
        max_parallel INTEGER,
        budget_tokens INTEGER,
        budget_period TEXT NOT NULL DEFAULT 'total' CHECK (budget_period IN ('day', 'week', 'month', 'total')),
        models TEXT,
        expires_at TEXT,
        created_at TEXT NOT NULL,
        revoked_at TEXT,
        last_used_at TEXT
      );
      CREATE TABLE key_usage (
        key_name TEXT NOT NULL,
        day TEXT NOT NULL,
        model TEXT NOT NULL,
        provider TEXT NOT NULL,
        requests INTEGER NOT NULL DEFAULT 0,
        prompt_tokens INTEGER NOT NULL DEFAULT 0,
        completion_tokens INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (key_name, day, model, provider)
      );
    `,
    postgres: `
      CREATE TABLE api_keys (
        name TEXT PRIMARY KEY,
        hash TEXT NOT NULL UNIQUE,
        prefix TEXT NOT NULL,
        rpm INTEGER,
        tpm INTEGER,
        max_parallel INTEGER,
        budget_tokens BIGINT,
        budget_period TEXT NOT NULL DEFAULT 'total' CHECK (budget_period IN ('day', 'week', 'month', 'total')),
        models TEXT,
        expires_at TEXT,
        created_at TEXT NOT NULL,
        revoked_at TEXT,
        last_used_at TEXT
      );
      CREATE TABLE key_usage (
        key_name TEXT NOT NULL,
        day TEXT NOT NULL,
        model TEXT NOT NULL,
        provider TEXT NOT NULL,
        requests BIGINT NOT NULL DEFAULT 0,
        prompt_tokens BIGINT NOT NULL DEFAULT 0,
        completion_tokens BIGINT NOT NULL DEFAULT 0,
        PRIMARY KEY (key_name, day, model, provider)
      );
    `,
  },
];

export interface MigrationResult {
  from: number;
  to: number;
  applied: number[];
}

/** Brings the database up to the latest version. Throws ConfigError for a newer, unknown schema. */
export function migrate(db: Database, migrations: readonly Migration[] = MIGRATIONS): MigrationResult {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL
  )`);
  const from = currentVersion(db);
  const latest = migrations.reduce((max, migration) => Math.max(max, migration.version), 0);
  if (from > latest) {
    throw new ConfigError(
      `The conversation database has schema version ${from}, newer than this version of g4f-ts knows (${latest}); upgrade g4f-ts or use another data directory`,
    );
  }
  const applied: number[] = [];
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
    if (migration.version <= from) continue;
    db.transaction(() => {
      db.exec(migration.sql);
      record.run(migration.version, migration.name, new Date().toISOString());
      db.pragma(`user_version = ${Math.floor(migration.version)}`);
    })();
    applied.push(migration.version);
  }
  return { from, to: Math.max(from, latest), applied };
}

/** The schema version: `PRAGMA user_version`, cross-checked with `schema_migrations`. */
export function currentVersion(db: Database): number {
  const userVersion = Number(db.pragma('user_version', { simple: true }) ?? 0);
  const row = db.prepare('SELECT MAX(version) AS version FROM schema_migrations').get() as { version: number | null } | undefined;
  return Math.max(userVersion, row?.version ?? 0);
}
