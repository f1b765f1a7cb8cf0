/**
 * The limits of a named key: requests a minute (a sliding window), tokens a minute (the current
 * and the previous minute, weighted), requests in flight, and tokens a budget period. Checked
 * before an upstream is asked; tokens are charged when the answer ends. `createLocalLimiter`
 * keeps the counters in this process; redis-limiter.ts keeps them in Redis for every replica.
 */

export interface LimitedKey {
  name: string;
  rpm?: number;
  tpm?: number;
  maxParallel?: number;
  budgetTokens?: number;
  /** The budget period's first day (`total` when the budget never resets). */
  budgetPeriod: string;
  /** The tokens the database says were spent in the budget period (read once per period, to start a counter). */
  spentBefore(): Promise<number>;
}

export type LimitReason = 'rpm' | 'tpm' | 'parallel' | 'budget';

/**
 * Admitted: `finish` charges the answer's tokens and frees the slot taken (when `release` has not
 * yet), in one step; `release` only frees the slot (the request ended before its answer was
 * counted). Each frees the slot once; a key without `maxParallel` takes none.
 */
export type Admission =
  | { ok: true; release(): Promise<void>; finish(tokens: number, now: number): Promise<void> }
  | { ok: false; reason: LimitReason; retryAfterSeconds: number };

export interface Limiter {
  /** Counts the request when it is admitted (and takes a slot when the key has `maxParallel`). */
  admit(key: LimitedKey, now: number): Promise<Admission>;
}

/** The one-time slot of an admission, and `finish` on top of a charge (both limiters). */
export function admitted(slot: boolean, free: () => Promise<void>, charge: (tokens: number, now: number, free: boolean) => Promise<void>): Admission {
  let held = slot;
  return {
    ok: true,
    async release() {
      if (!held) return;
      held = false;
      await free();
    },
    async finish(tokens, now) {
      const freeing = held;
      held = false;
      if (freeing || tokens > 0) await charge(tokens, now, freeing);
    },
  };
}

const MINUTE = 60_000;

/** Tokens of the last minute, estimated from the current and the previous minute's counts. */
export function slidingTokens(current: number, previous: number, now: number): number {
  const elapsed = (now % MINUTE) / MINUTE;
  return current + previous * (1 - elapsed);
}

export function secondsToNextMinute(now: number): number {
  return Math.max(1, Math.ceil((MINUTE - (now % MINUTE)) / 1000));
}

export function createLocalLimiter(): Limiter {
  const requests = new Map<string, number[]>();
  const tokens = new Map<string, number>();
  const parallel = new Map<string, number>();
  const budgets = new Map<string, number>();
  const seeding = new Map<string, Promise<void>>();

  const budgetKey = (key: LimitedKey): string => `${key.name}\u0000${key.budgetPeriod}`;
  const seedBudget = (key: LimitedKey): Promise<void> => {
    const id = budgetKey(key);
    if (budgets.has(id)) return Promise.resolve();
    let pending = seeding.get(id);
    if (pending === undefined) {
      pending = key
        .spentBefore()
        .catch(() => 0)
        .then((spent) => {
          budgets.set(id, (budgets.get(id) ?? 0) + spent);
          seeding.delete(id);
        });
      seeding.set(id, pending);
    }
    return pending;
  };

  return {
    async admit(key, now) {
      if (key.budgetTokens !== undefined) {
        await seedBudget(key);
        if ((budgets.get(budgetKey(key)) ?? 0) >= key.budgetTokens) return { ok: false, reason: 'budget', retryAfterSeconds: 3600 };
      }
      const times = (requests.get(key.name) ?? []).filter((time) => time > now - MINUTE);
      requests.set(key.name, times);
      if (key.rpm !== undefined && times.length >= key.rpm) {
        return { ok: false, reason: 'rpm', retryAfterSeconds: Math.max(1, Math.ceil(((times[0] as number) + MINUTE - now) / 1000)) };
      }
      if (key.tpm !== undefined) {
        const minute = Math.floor(now / MINUTE);
        const used = slidingTokens(tokens.get(`${key.name}:${minute}`) ?? 0, tokens.get(`${key.name}:${minute - 1}`) ?? 0, now);
        if (used >= key.tpm) return { ok: false, reason: 'tpm', retryAfterSeconds: secondsToNextMinute(now) };
      }
      if (key.maxParallel !== undefined && (parallel.get(key.name) ?? 0) >= key.maxParallel) {
        return { ok: false, reason: 'parallel', retryAfterSeconds: 1 };
      }
      times.push(now);
      const slot = key.maxParallel !== undefined;
      if (slot) parallel.set(key.name, (parallel.get(key.name) ?? 0) + 1);
      const free = async (): Promise<void> => {
        const count = parallel.get(key.name) ?? 0;
        if (count <= 1) parallel.delete(key.name);
        else parallel.set(key.name, count - 1);
      };
      return admitted(slot, free, async (used, at, freeing) => {
        if (freeing) await free();
        if (used <= 0) return;
        const minute = Math.floor(at / MINUTE);
        const id = `${key.name}:${minute}`;
        tokens.set(id, (tokens.get(id) ?? 0) + used);
        tokens.delete(`${key.name}:${minute - 2}`);
        if (key.budgetTokens !== undefined) budgets.set(budgetKey(key), (budgets.get(budgetKey(key)) ?? 0) + used);
      });
    },
  };
}
