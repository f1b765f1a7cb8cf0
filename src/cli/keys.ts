/**
 * `g4f keys`: named API keys of `g4f serve`, in its database (`G4F_DATABASE_URL`, the config's
 * `database.url`, else the SQLite file of the data directory): create (the key printed once; only
 * its hash is stored), list (never the key), revoke, usage.
 */
import type { BudgetPeriod, KeyStore, KeySummary, UsageRow } from '../store/index.js';
import type { GlobalOptions } from './context.js';
import { writeOut } from './stdout.js';
import { createStyle } from './style.js';
import { formatTable } from './table.js';
import { EXIT } from './usage-error.js';

export interface KeysCreateOptions {
  name: string;
  rpm?: string;
  tpm?: string;
  maxParallel?: string;
  budgetTokens?: string;
  budgetPeriod?: BudgetPeriod;
  models?: string;
  expires?: string;
  dataDir?: string;
  json?: boolean;
}

export interface KeysListOptions {
  dataDir?: string;
  json?: boolean;
}

async function openKeys(globals: GlobalOptions, dataDir: string | undefined): Promise<KeyStore> {
  const [{ loadConfig }, store] = await Promise.all([import('../config.js'), import('../store/index.js')]);
  const config = await loadConfig(globals.config);
  const database = store.databaseFrom(config);
  return store.openKeyStore(database !== undefined ? { database } : dataDir === undefined ? {} : { dataDir });
}

async function withKeys<T>(globals: GlobalOptions, dataDir: string | undefined, work: (store: KeyStore) => Promise<T>): Promise<T> {
  const store = await openKeys(globals, dataDir);
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

export async function runKeysCreate(options: KeysCreateOptions, globals: GlobalOptions): Promise<number> {
  const { createApiKey } = await import('../store/index.js');
  const created = await withKeys(globals, options.dataDir, (store) =>
    createApiKey(store, {
      name: options.name,
      ...(options.rpm === undefined ? {} : { rpm: options.rpm as unknown as number }),
      ...(options.tpm === undefined ? {} : { tpm: options.tpm as unknown as number }),
      ...(options.maxParallel === undefined ? {} : { maxParallel: options.maxParallel as unknown as number }),
      ...(options.budgetTokens === undefined ? {} : { budgetTokens: options.budgetTokens as unknown as number }),
      ...(options.budgetPeriod === undefined ? {} : { budgetPeriod: options.budgetPeriod }),
      ...(options.models === undefined ? {} : { models: options.models.split(',').map((model) => model.trim()) }),
      ...(options.expires === undefined ? {} : { expiresAt: options.expires }),
    }),
  );
  if (options.json === true) {
    await writeOut(`${JSON.stringify({ key: created.key, ...created.summary }, null, 2)}\n`);
    return EXIT.ok;
  }
  const style = createStyle(process.stderr);
  await writeOut(`${created.key}\n`);
  process.stderr.write(`${style.dim(`Key "${created.summary.name}" created. It is shown this once: only its hash is stored.`)}\n`);
  return EXIT.ok;
}

function limitsText(key: KeySummary): string {
  const parts: string[] = [];
  if (key.rpm !== undefined) parts.push(`${key.rpm} rpm`);
  if (key.tpm !== undefined) parts.push(`${key.tpm} tpm`);
  if (key.maxParallel !== undefined) parts.push(`${key.maxParallel} at once`);
  if (key.budgetTokens !== undefined) parts.push(`${key.budgetTokens} tokens/${key.budgetPeriod}`);
  if (key.models !== undefined) parts.push(`models ${key.models.join(',')}`);
  if (key.expiresAt !== undefined) parts.push(`expires ${key.expiresAt.slice(0, 16).replace('T', ' ')}`);
  return parts.length === 0 ? 'none' : parts.join(', ');
}

export async function runKeysList(options: KeysListOptions, globals: GlobalOptions): Promise<number> {
  const { listApiKeys } = await import('../store/index.js');
  const keys = await withKeys(globals, options.dataDir, (store) => listApiKeys(store));
  if (options.json === true) {
    await writeOut(`${JSON.stringify(keys, null, 2)}\n`);
    return EXIT.ok;
  }
  const style = createStyle(process.stdout);
  if (keys.length === 0) {
    await writeOut(`${style.dim('No keys. Create one with g4f keys create --name NAME.')}\n`);
    return EXIT.ok;
  }
  const rows = keys.map((key) => [
    style.bold(key.name),
    key.status,
    limitsText(key),
    key.createdAt.slice(0, 16).replace('T', ' '),
    key.lastUsedAt === undefined ? '-' : key.lastUsedAt.slice(0, 16).replace('T', ' '),
    `${key.usage.requests} req, ${key.usage.tokens} tokens`,
  ]);
  await writeOut(`${formatTable(['NAME', 'STATUS', 'LIMITS', 'CREATED', 'LAST USED', 'USAGE THIS PERIOD'], rows, style.dim)}\n`);
  return EXIT.ok;
}

export async function runKeysRevoke(name: string, options: KeysListOptions, globals: GlobalOptions): Promise<number> {
  const { revokeApiKey } = await import('../store/index.js');
  const revoked = await withKeys(globals, options.dataDir, (store) => revokeApiKey(store, name));
  await writeOut(revoked ? `Key "${name}" revoked.\n` : `Key "${name}" was revoked already.\n`);
  return EXIT.ok;
}

export async function runKeysUsage(name: string | undefined, options: KeysListOptions, globals: GlobalOptions): Promise<number> {
  const { keyUsage } = await import('../store/index.js');
  const rows: UsageRow[] = await withKeys(globals, options.dataDir, (store) => keyUsage(store, name));
  if (options.json === true) {
    await writeOut(`${JSON.stringify(rows, null, 2)}\n`);
    return EXIT.ok;
  }
  const style = createStyle(process.stdout);
  if (rows.length === 0) {
    await writeOut(`${style.dim('No usage yet.')}\n`);
    return EXIT.ok;
  }
  const table = rows.map((row) => [row.day, row.key, row.model, row.provider, String(row.requests), String(row.promptTokens), String(row.completionTokens)]);
  await writeOut(`${formatTable(['DAY', 'KEY', 'MODEL', 'PROVIDER', 'REQUESTS', 'PROMPT', 'COMPLETION'], table, style.dim)}\n`);
  return EXIT.ok;
}
