/**
 * PostgreSQL connections (one pool per URL, shared by the conversation, response and key stores
 * of a process) and its migrations: the versions of migrations.ts, all pending ones in one transaction,
 * under an advisory lock so that replicas starting together migrate once.
 */
import pg from 'pg';
import { ConfigError } from '../core/errors.js';
import { MIGRATIONS, type Migration, type MigrationResult } from './migrations.js';

/** A key of `pg_advisory_xact_lock`: the migrations of g4f-ts. */
const MIGRATION_LOCK = 4_604_100_013;

export interface SharedPool {
  pool: pg.Pool;
  /** Resolves once the schema is at the latest version (rejects, and is retried on the next call, when it could not be). */
  ready(): Promise<void>;
  /** One user fewer; the pool ends with its last user. */
  release(): Promise<void>;
}

interface PoolEntry {
  pool: pg.Pool;
  users: number;
  migrating: Promise<void> | undefined;
}

const pools = new Map<string, PoolEntry>();

export function sharedPool(url: string): SharedPool {
  let entry = pools.get(url);
  if (entry === undefined) {
    const pool = new pg.Pool({ connectionString: url, max: 10, connectionTimeoutMillis: 5_000, idleTimeoutMillis: 30_000, query_timeout: 30_000 });
    // A connection lost while idle (the server restarted) is dropped by the pool; nothing to do.
    pool.on('error', () => undefined);
    entry = { pool, users: 0, migrating: undefined };
    pools.set(url, entry);
  }
  const own = entry;
  own.users += 1;
  let released = false;
  return {
    pool: own.pool,
    ready() {
      own.migrating ??= migratePostgres(own.pool).then(
        () => undefined,
        (error: unknown) => {
          own.migrating = undefined;
          throw error;
        },
      );
      return own.migrating;
    },
    async release() {
      if (released) return;
      released = true;
      own.users -= 1;
      if (own.users === 0) {
        pools.delete(url);
        await own.pool.end().catch(() => undefined);
      }
    },
  };
}

/** Runs `work` in one transaction on one connection of the pool. */
export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** Brings a PostgreSQL database up to the latest version. Throws ConfigError for a newer, unknown schema. */
export async function migratePostgres(pool: pg.Pool, migrations: readonly Migration[] = MIGRATIONS): Promise<MigrationResult> {
  return inTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version INTEGER PRIMARY KEY,
      name TEXT NOT NULL,
      applied_at TEXT NOT NULL
    )`);
    const row = await client.query<{ version: number | null }>('SELECT MAX(version) AS version FROM schema_migrations');
    const from = row.rows[0]?.version ?? 0;
    const latest = migrations.reduce((max, migration) => Math.max(max, migration.version), 0);
    if (from > latest) {
      throw new ConfigError(
        `The conversation database has schema version ${from}, newer than this version of g4f-ts knows (${latest}); upgrade g4f-ts or use another database`,
      );
    }
    const applied: number[] = [];
    for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
      if (migration.version <= from) continue;
      if (migration.postgres === undefined) throw new ConfigError(`Migration ${migration.version} (${migration.name}) has no PostgreSQL statements`);
      await client.query('SAVEPOINT migration');
      await client.query(migration.postgres);
      await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
        migration.version,
        migration.name,
        new Date().toISOString(),
      ]);
      await client.query('RELEASE SAVEPOINT migration');
      applied.push(migration.version);
    }
    return { from, to: Math.max(from, latest), applied };
  });
}
