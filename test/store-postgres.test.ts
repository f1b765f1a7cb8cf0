/** The store conformance suite on PostgreSQL (a server of its own, started in a temporary folder), and its migrations. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { createPostgresKeyStore, createPostgresResponseStore, createPostgresStore, migratePostgres, MIGRATIONS } from '../src/store/index.js';
import { isG4FError } from '../src/core/errors.js';
import { servicesMissing, startPostgres, type PostgresService } from './services.js';
import { conversationStoreCases, keyStoreCases, responseStoreCases } from './store-cases.js';

const missing = servicesMissing();
let postgres: PostgresService | undefined;

describe('PostgreSQL stores', { skip: missing }, () => {
  before(async () => {
    postgres = await startPostgres();
  });
  after(async () => {
    await postgres?.close();
  });

  const url = (): string => (postgres as PostgresService).url;
  conversationStoreCases('postgres store', async () => createPostgresStore(url()));
  responseStoreCases('postgres response store', async () => createPostgresResponseStore(url()));
  keyStoreCases('postgres key store', async () => createPostgresKeyStore(url()));

  test('migrations are recorded once, replicas starting together migrate once, and a newer schema is refused', async () => {
    const pool = new pg.Pool({ connectionString: url() });
    pool.on('error', () => undefined);
    try {
      const results = await Promise.all([migratePostgres(pool), migratePostgres(pool)]);
      assert.deepEqual(
        results.map((result) => result.applied),
        [[], []],
      );
      const rows = await pool.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
      assert.deepEqual(
        rows.rows.map((row) => row.version),
        MIGRATIONS.map((migration) => migration.version),
      );
      const later = [...MIGRATIONS, { version: 99, name: 'extra', sql: '', postgres: 'ALTER TABLE conversations ADD COLUMN pinned INTEGER' }];
      assert.deepEqual((await migratePostgres(pool, later)).applied, [99]);
      await assert.rejects(migratePostgres(pool), (error: unknown) => isG4FError(error, 'ConfigError') && /newer/.test(error.message));
    } finally {
      await pool.end();
    }
  });
});
