/**
 * What `g4f keys` and `/admin/keys` do, on a key store: create (the key shown once), list (never
 * the key), revoke, usage. Both ways share these, so they answer alike.
 */
import { InvalidRequestError } from '../core/errors.js';
import { newKey, periodStart, type ApiKeyRecord, type KeyStore, type NewKeyOptions, type UsageRow } from './keys.js';

export interface KeySummary extends Omit<ApiKeyRecord, 'hash'> {
  status: 'active' | 'revoked' | 'expired';
  /** Requests and tokens of the current budget period (all time for `total`). */
  usage: { since: string | undefined; requests: number; tokens: number };
}

export async function createApiKey(store: KeyStore, options: NewKeyOptions): Promise<{ key: string; summary: KeySummary }> {
  const made = newKey(options);
  await store.insert(made.record);
  return { key: made.key, summary: summarise(made.record, []) };
}

export async function listApiKeys(store: KeyStore, now = new Date()): Promise<KeySummary[]> {
  const [keys, rows] = await Promise.all([store.list(), store.usage({})]);
  return keys.map((record) => summarise(record, rows, now));
}

/** False when there is no such key or it is revoked already; a name that does not exist is an error. */
export async function revokeApiKey(store: KeyStore, name: string): Promise<boolean> {
  const keys = await store.list();
  if (!keys.some((key) => key.name === name)) throw new InvalidRequestError(`No key is named "${name}"`, 'name');
  return store.revoke(name);
}

export async function keyUsage(store: KeyStore, name?: string): Promise<UsageRow[]> {
  if (name !== undefined && !(await store.list()).some((key) => key.name === name)) throw new InvalidRequestError(`No key is named "${name}"`, 'name');
  return store.usage(name === undefined ? {} : { key: name });
}

/** Tokens of `key` from `sinceDay` (inclusive; all when undefined). */
export async function tokensSince(store: KeyStore, key: string, sinceDay: string | undefined): Promise<number> {
  const rows = await store.usage(sinceDay === undefined ? { key } : { key, sinceDay });
  return rows.reduce((sum, row) => sum + row.promptTokens + row.completionTokens, 0);
}

function summarise(record: ApiKeyRecord, rows: readonly UsageRow[], now = new Date()): KeySummary {
  const { hash: _hash, ...rest } = record;
  const since = periodStart(record.budgetPeriod, now);
  let requests = 0;
  let tokens = 0;
  for (const row of rows) {
    if (row.key !== record.name || (since !== undefined && row.day < since)) continue;
    requests += row.requests;
    tokens += row.promptTokens + row.completionTokens;
  }
  const status =
    record.revokedAt !== undefined ? 'revoked' : record.expiresAt !== undefined && Date.parse(record.expiresAt) <= now.getTime() ? 'expired' : 'active';
  return { ...rest, status, usage: { since, requests, tokens } };
}
