/**
 * Key limits on Redis, for every replica: one Lua script checks the budget, the requests of the
 * last minute (a sorted set), the tokens of the last minute and the slots in flight, and counts the
 * request, atomically. Every call falls back to this process's limiter when Redis fails.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { admitted, type Admission, type LimitedKey, type LimitReason, type Limiter } from './limiter.js';

const ADMIT = `
local now = tonumber(ARGV[1])
local rpm = tonumber(ARGV[2])
local tpm = tonumber(ARGV[3])
local maxp = tonumber(ARGV[4])
local budget = tonumber(ARGV[5])
if budget > 0 and tonumber(redis.call('GET', KEYS[5]) or '0') >= budget then return {0, 'budget', 3600} end
if rpm > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 60000)
  if redis.call('ZCARD', KEYS[1]) >= rpm then
    local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
    local wait = math.ceil((tonumber(oldest[2]) + 60000 - now) / 1000)
    if wait < 1 then wait = 1 end
    return {0, 'rpm', wait}
  end
end
if tpm > 0 then
  local used = tonumber(redis.call('GET', KEYS[2]) or '0') + tonumber(redis.call('GET', KEYS[3]) or '0') * (1 - (now % 60000) / 60000)
  if used >= tpm then
    local wait = math.ceil((60000 - now % 60000) / 1000)
    if wait < 1 then wait = 1 end
    return {0, 'tpm', wait}
  end
end
if maxp > 0 then
  if tonumber(redis.call('GET', KEYS[4]) or '0') >= maxp then return {0, 'parallel', 1} end
  redis.call('INCR', KEYS[4])
  redis.call('PEXPIRE', KEYS[4], 600000)
end
if rpm > 0 then
  redis.call('ZADD', KEYS[1], now, ARGV[6])
  redis.call('PEXPIRE', KEYS[1], 60000)
end
return {1, 'ok', 0}
`;

const RELEASE = `
local left = redis.call('DECR', KEYS[1])
if left < 0 then redis.call('SET', KEYS[1], 0) end
return left
`;

/** Frees the slot (when ARGV[2] is 1) and charges ARGV[1] tokens to the minute and the budget (when ARGV[3] is 1). */
const FINISH = `
if ARGV[2] == '1' then
  local left = redis.call('DECR', KEYS[3])
  if left < 0 then redis.call('SET', KEYS[3], 0) end
end
local tokens = tonumber(ARGV[1])
if tokens > 0 then
  redis.call('INCRBY', KEYS[1], tokens)
  redis.call('PEXPIRE', KEYS[1], 120000)
  if ARGV[3] == '1' then redis.call('INCRBY', KEYS[2], tokens) end
end
return 1
`;

type Shared = <T>(remote: (redis: LimitsRedis) => Promise<T>, fallback: () => Promise<T>) => Promise<T>;

/** The connection with the scripts defined (sent once, then called by their SHA). */
export interface LimitsRedis extends Redis {
  g4fAdmit(...args: Array<string | number>): Promise<[number, string, number]>;
  g4fRelease(slot: string): Promise<number>;
  g4fFinish(...args: Array<string | number>): Promise<number>;
}

export function defineLimitScripts(redis: Redis): LimitsRedis {
  redis.defineCommand('g4fAdmit', { numberOfKeys: 5, lua: ADMIT });
  redis.defineCommand('g4fRelease', { numberOfKeys: 1, lua: RELEASE });
  redis.defineCommand('g4fFinish', { numberOfKeys: 3, lua: FINISH });
  return redis as LimitsRedis;
}

/** Redis names of a key's counters. */
function names(key: LimitedKey, now: number): string[] {
  const minute = Math.floor(now / 60_000);
  const base = `g4f:key:${key.name}`;
  return [`${base}:rpm`, `${base}:tpm:${minute}`, `${base}:tpm:${minute - 1}`, `${base}:parallel`, `${base}:budget:${key.budgetPeriod}`];
}

/**
 * `seeded`: budget counters known to exist on the Redis of this connection (cleared when it
 * reconnects: a Redis that restarted has lost them, and they are started again from the database).
 */
export function createRedisLimiter(shared: Shared, local: Limiter, seeded: Set<string>): Limiter {
  /** Starts the budget counter of a period from the database's count, once. */
  const seedBudget = async (redis: Redis, key: LimitedKey, name: string): Promise<void> => {
    if (seeded.has(name)) return;
    if ((await redis.exists(name)) === 0) {
      const spent = await key.spentBefore().catch(() => 0);
      await redis.set(name, String(spent), 'PX', 40 * 86_400_000, 'NX');
    }
    seeded.add(name);
  };

  return {
    admit(key, now) {
      return shared<Admission>(
        async (redis) => {
          const keys = names(key, now);
          const budgetName = keys[4] as string;
          if (key.budgetTokens !== undefined) await seedBudget(redis, key, budgetName);
          const member = `${now}-${randomBytes(6).toString('hex')}`;
          const answer = await redis.g4fAdmit(...keys, now, key.rpm ?? 0, key.tpm ?? 0, key.maxParallel ?? 0, key.budgetTokens ?? 0, member);
          if (answer[0] !== 1) return { ok: false, reason: answer[1] as LimitReason, retryAfterSeconds: Number(answer[2]) };
          const slot = keys[3] as string;
          const budget = key.budgetTokens === undefined ? '0' : '1';
          return admitted(
            key.maxParallel !== undefined,
            () =>
              shared(
                async (client) => void (await client.g4fRelease(slot)),
                async () => undefined,
              ),
            (tokens, at, freeing) =>
              shared(
                async (client) => void (await client.g4fFinish(names(key, at)[1] as string, budgetName, slot, tokens, freeing ? '1' : '0', budget)),
                // Redis went away since admission: these tokens are in the usage table, not in the counters.
                async () => undefined,
              ),
          );
        },
        () => local.admit(key, now),
      );
    },
  };
}
