/**
 * API keys with names and limits, and their usage: the types, the checks of what a key may be
 * created with, and the key itself (made here, shown once; only its SHA-256 is stored).
 * The stores of keys live in the conversation database (migration 4): key-store-sqlite.ts and
 * key-store-postgres.ts.
 */
import { createHash, randomBytes } from 'node:crypto';
import { InvalidRequestError } from '../core/errors.js';

export type BudgetPeriod = 'day' | 'week' | 'month' | 'total';
export const BUDGET_PERIODS: readonly BudgetPeriod[] = ['day', 'week', 'month', 'total'];

export interface KeyLimits {
  /** Requests a minute. */
  rpm?: number;
  /** Tokens a minute (prompt and completion). */
  tpm?: number;
  /** Requests in flight at once. */
  maxParallel?: number;
  /** Tokens a budget period. */
  budgetTokens?: number;
  budgetPeriod: BudgetPeriod;
  /** The models the key may use (as asked for, aliases included); absent: any. */
  models?: string[];
  /** ISO time after which the key is refused. */
  expiresAt?: string;
}

export interface ApiKeyRecord extends KeyLimits {
  name: string;
  /** SHA-256 of the key, hex. */
  hash: string;
  /** The key's first characters, to recognise it (`g4f-AbCd`). */
  prefix: string;
  createdAt: string;
  revokedAt?: string;
  lastUsedAt?: string;
}

export interface UsageEntry {
  key: string;
  model: string;
  provider: string;
  promptTokens: number;
  completionTokens: number;
  /** When the request ended (its UTC day is the row's). */
  at: Date;
  /** Requests these tokens are of (default 1): usage is written in batches. */
  requests?: number;
}

export interface UsageRow {
  key: string;
  /** YYYY-MM-DD (UTC). */
  day: string;
  model: string;
  provider: string;
  requests: number;
  promptTokens: number;
  completionTokens: number;
}

export interface KeyStore {
  /** Refused (InvalidRequestError) when the name is taken. */
  insert(record: ApiKeyRecord): Promise<void>;
  /** Every key, revoked ones included, by name. */
  list(): Promise<ApiKeyRecord[]>;
  findByHash(hash: string): Promise<ApiKeyRecord | undefined>;
  /** False when there is no such key, or it was revoked already. */
  revoke(name: string): Promise<boolean>;
  /** Adds requests (one by default) and their tokens to the key's row of the day, model and provider. */
  recordUsage(entry: UsageEntry): Promise<void>;
  /** Usage rows from `sinceDay` (inclusive), of one key or all. */
  usage(options?: { key?: string; sinceDay?: string }): Promise<UsageRow[]>;
  close(): Promise<void>;
}

export interface NewKeyOptions extends Partial<KeyLimits> {
  name: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** A new key: `g4f-` and 32 random characters (192 bits). */
export function generateKey(): string {
  return `g4f-${randomBytes(24).toString('base64url')}`;
}

/** A limit must be a positive whole number (the error names the option). */
export function positiveLimit(value: unknown, option: string): number {
  const number = typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isSafeInteger(number) || number <= 0) {
    throw new InvalidRequestError(`${option} must be a positive whole number (got ${JSON.stringify(value)})`, option);
  }
  return number;
}

/** `30d`, `12h`, `2w`, `90m` (minutes), or an ISO date: when the key stops working. */
export function parseExpiry(text: string, now = Date.now()): string {
  const match = /^\s*(\d+)\s*([mhdw])\s*$/.exec(text);
  if (match !== null) {
    const amount = positiveLimit(match[1], 'expires');
    const unit = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 }[match[2] as 'm' | 'h' | 'd' | 'w'];
    return new Date(now + amount * unit).toISOString();
  }
  const time = /^\d{4}-\d{2}-\d{2}/.test(text.trim()) ? Date.parse(text.trim()) : Number.NaN;
  if (!Number.isFinite(time) || time <= now) {
    throw new InvalidRequestError(`expires must be a duration such as 30d, 12h or 2w, or a future ISO date (got ${JSON.stringify(text)})`, 'expires');
  }
  return new Date(time).toISOString();
}

/** Checks the options of a new key and makes it: the record to store, and the key to show once. */
export function newKey(options: NewKeyOptions, now = new Date()): { key: string; record: ApiKeyRecord } {
  if (typeof options.name !== 'string' || !NAME.test(options.name)) {
    throw new InvalidRequestError('name must be 1 to 64 letters, digits, dots, dashes or underscores, starting with a letter or digit', 'name');
  }
  const key = generateKey();
  const record: ApiKeyRecord = {
    name: options.name,
    hash: hashKey(key),
    prefix: key.slice(0, 8),
    createdAt: now.toISOString(),
    budgetPeriod: options.budgetPeriod ?? 'total',
  };
  if (!BUDGET_PERIODS.includes(record.budgetPeriod)) {
    throw new InvalidRequestError(`budget period must be one of ${BUDGET_PERIODS.join(', ')}`, 'budget_period');
  }
  if (options.rpm !== undefined) record.rpm = positiveLimit(options.rpm, 'rpm');
  if (options.tpm !== undefined) record.tpm = positiveLimit(options.tpm, 'tpm');
  if (options.maxParallel !== undefined) record.maxParallel = positiveLimit(options.maxParallel, 'max_parallel');
  if (options.budgetTokens !== undefined) record.budgetTokens = positiveLimit(options.budgetTokens, 'budget_tokens');
  if (options.models !== undefined) {
    const models = options.models.map((model) => (typeof model === 'string' ? model.trim() : '')).filter((model) => model !== '');
    if (models.length === 0 || models.length !== options.models.length) throw new InvalidRequestError('models must be a list of model names', 'models');
    record.models = models;
  }
  if (options.expiresAt !== undefined) record.expiresAt = parseExpiry(options.expiresAt, now.getTime());
  return { key, record };
}

/** YYYY-MM-DD of a time, in UTC. */
export function dayOf(time: Date): string {
  return time.toISOString().slice(0, 10);
}

/** The first day (UTC) of the budget period that holds `now`; undefined for `total`. */
export function periodStart(period: BudgetPeriod, now: Date): string | undefined {
  if (period === 'total') return undefined;
  if (period === 'day') return dayOf(now);
  if (period === 'month') return `${dayOf(now).slice(0, 7)}-01`;
  // Weeks start on Monday.
  const start = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  start.setUTCDate(start.getUTCDate() - ((start.getUTCDay() + 6) % 7));
  return dayOf(start);
}

/** Why a key is refused now (revoked, expired), or undefined. */
export function keyRefusal(record: ApiKeyRecord, now = Date.now()): string | undefined {
  if (record.revokedAt !== undefined) return `The API key "${record.name}" was revoked.`;
  if (record.expiresAt !== undefined && Date.parse(record.expiresAt) <= now) return `The API key "${record.name}" expired at ${record.expiresAt}.`;
  return undefined;
}

/** A stored row (either database) as a record. */
export interface KeyRow {
  name: string;
  hash: string;
  prefix: string;
  rpm: number | null;
  tpm: number | null;
  max_parallel: number | null;
  budget_tokens: number | string | null;
  budget_period: string;
  models: string | null;
  expires_at: string | null;
  created_at: string;
  revoked_at: string | null;
  last_used_at: string | null;
}

export function toKeyRecord(row: KeyRow): ApiKeyRecord {
  const record: ApiKeyRecord = {
    name: row.name,
    hash: row.hash,
    prefix: row.prefix,
    createdAt: row.created_at,
    budgetPeriod: row.budget_period as BudgetPeriod,
  };
  if (row.rpm !== null) record.rpm = row.rpm;
  if (row.tpm !== null) record.tpm = row.tpm;
  if (row.max_parallel !== null) record.maxParallel = row.max_parallel;
  if (row.budget_tokens !== null) record.budgetTokens = Number(row.budget_tokens);
  if (row.models !== null) record.models = JSON.parse(row.models) as string[];
  if (row.expires_at !== null) record.expiresAt = row.expires_at;
  if (row.revoked_at !== null) record.revokedAt = row.revoked_at;
  if (row.last_used_at !== null) record.lastUsedAt = row.last_used_at;
  return record;
}

/** The values of a record, in the column order of `KEY_COLUMNS`. */
export function keyValues(record: ApiKeyRecord): Array<string | number | null> {
  return [
    record.name,
    record.hash,
    record.prefix,
    record.rpm ?? null,
    record.tpm ?? null,
    record.maxParallel ?? null,
    record.budgetTokens ?? null,
    record.budgetPeriod,
    record.models === undefined ? null : JSON.stringify(record.models),
    record.expiresAt ?? null,
    record.createdAt,
    record.revokedAt ?? null,
    record.lastUsedAt ?? null,
  ];
}

export const KEY_COLUMNS = 'name, hash, prefix, rpm, tpm, max_parallel, budget_tokens, budget_period, models, expires_at, created_at, revoked_at, last_used_at';

export function duplicateName(name: string): InvalidRequestError {
  return new InvalidRequestError(`A key named "${name}" exists already; choose another name (or revoke and rename)`, 'name');
}

export interface UsageRowData {
  key_name: string;
  day: string;
  model: string;
  provider: string;
  requests: number | string;
  prompt_tokens: number | string;
  completion_tokens: number | string;
}

export function toUsageRow(row: UsageRowData): UsageRow {
  return {
    key: row.key_name,
    day: row.day,
    model: row.model,
    provider: row.provider,
    requests: Number(row.requests),
    promptTokens: Number(row.prompt_tokens),
    completionTokens: Number(row.completion_tokens),
  };
}
