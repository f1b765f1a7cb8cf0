/**
 * The conversation store: `openStore` gives the embedded SQLite store; everything else codes
 * against the `ConversationStore` interface.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import envPaths from 'env-paths';
import { createSqliteResponseStore, type ResponseStore } from './response-store.js';
import { dirname } from 'node:path';
import type { DatabaseLocation } from './database-url.js';
import { createSqliteKeyStore } from './key-store-sqlite.js';
import type { KeyStore } from './keys.js';
import { createPostgresStore } from './postgres-store.js';
import { createPostgresKeyStore, createPostgresResponseStore } from './postgres-stores.js';
import { createSqliteStore } from './sqlite-store.js';
import type { ConversationStore } from './types.js';

export type * from './types.js';
export { createSqliteStore, cleanTitle, DEFAULT_TITLE, type SqliteStoreOptions } from './sqlite-store.js';
export { MIGRATIONS, migrate, currentVersion, type Migration, type MigrationResult } from './migrations.js';
export { exportJson, exportMarkdown, importJson, importMarkdown, EXPORT_FORMAT, EXPORT_VERSION } from './export.js';
export {
  CONVERSATION_LIMITS,
  IMAGE_MEDIA_TYPES,
  fieldsProblem,
  imagesProblem,
  importProblem,
  importTextProblem,
  type ConversationLimits,
  type LimitProblem,
} from './limits.js';
export { decodeImageDataUrl, hasImageSignature, imageDataUrl } from './images.js';
export { answeredHistory, storedImageIds, withImageData } from './history.js';
export {
  contextTokensFor,
  fitToContext,
  DEFAULT_CONTEXT_TOKENS,
  IMAGE_TOKENS,
  MODEL_CONTEXT_TOKENS,
  type FitOptions,
  type FitResult,
} from './context-window.js';

/** The file name of the SQLite database inside the data directory. */
export const DATABASE_FILE = 'conversations.sqlite';

/** `G4F_DATA_DIR`, else the per-user data folder (e.g. `~/.local/share/g4f-ts` on Linux). */
export function defaultDataDir(): string {
  const fromEnvironment = process.env.G4F_DATA_DIR;
  if (fromEnvironment !== undefined && fromEnvironment !== '') return fromEnvironment;
  return envPaths('g4f-ts', { suffix: '' }).data;
}

export interface OpenStoreOptions {
  /** Directory of the database file (created if missing); default {@link defaultDataDir}. */
  dataDir?: string;
  /** Keep everything in memory (tests); `dataDir` is then ignored. */
  memory?: boolean;
  /** A database named by `G4F_DATABASE_URL` (database-url.ts): PostgreSQL, or a SQLite file; over `dataDir`. */
  database?: DatabaseLocation;
}

/** The SQLite file a location names (its folder created), or undefined for the data directory's. */
function sqliteFile(location: DatabaseLocation | undefined): string | undefined {
  if (location?.kind !== 'sqlite' || location.filename === undefined) return undefined;
  if (location.filename !== ':memory:') mkdirSync(dirname(location.filename), { recursive: true });
  return location.filename;
}

export function openStore(options: OpenStoreOptions = {}): ConversationStore {
  if (options.database?.kind === 'postgres') return createPostgresStore(options.database.url);
  const file = sqliteFile(options.database);
  if (file !== undefined) return createSqliteStore({ filename: file });
  if (options.memory === true) return createSqliteStore({ filename: ':memory:' });
  const dataDir = options.dataDir ?? defaultDataDir();
  mkdirSync(dataDir, { recursive: true });
  return createSqliteStore({ filename: join(dataDir, DATABASE_FILE) });
}

export { createSqliteResponseStore, type ResponseStore, type StoredResponse } from './response-store.js';

/** The store of the Responses API's stored responses, in the same database file as the conversations. */
export function openResponseStore(options: OpenStoreOptions = {}): ResponseStore {
  if (options.database?.kind === 'postgres') return createPostgresResponseStore(options.database.url);
  const file = sqliteFile(options.database);
  if (file !== undefined) return createSqliteResponseStore(file);
  if (options.memory === true) return createSqliteResponseStore(':memory:');
  const dataDir = options.dataDir ?? defaultDataDir();
  mkdirSync(dataDir, { recursive: true });
  return createSqliteResponseStore(join(dataDir, DATABASE_FILE));
}

export { parseDatabaseUrl, databaseFrom, type DatabaseLocation } from './database-url.js';
export {
  newKey,
  hashKey,
  keyRefusal,
  periodStart,
  dayOf,
  parseExpiry,
  positiveLimit,
  BUDGET_PERIODS,
  type ApiKeyRecord,
  type BudgetPeriod,
  type KeyLimits,
  type KeyStore,
  type NewKeyOptions,
  type UsageEntry,
  type UsageRow,
} from './keys.js';
export { createPostgresStore } from './postgres-store.js';
export { createPostgresKeyStore, createPostgresResponseStore } from './postgres-stores.js';
export { createSqliteKeyStore } from './key-store-sqlite.js';
export { migratePostgres } from './postgres.js';

/** The store of API keys and their usage, in the conversation database. */
export function openKeyStore(options: OpenStoreOptions = {}): KeyStore {
  if (options.database?.kind === 'postgres') return createPostgresKeyStore(options.database.url);
  const file = sqliteFile(options.database);
  if (file !== undefined) return createSqliteKeyStore(file);
  if (options.memory === true) return createSqliteKeyStore(':memory:');
  const dataDir = options.dataDir ?? defaultDataDir();
  mkdirSync(dataDir, { recursive: true });
  return createSqliteKeyStore(join(dataDir, DATABASE_FILE));
}
export { createApiKey, listApiKeys, revokeApiKey, keyUsage, tokensSince, type KeySummary } from './key-admin.js';
