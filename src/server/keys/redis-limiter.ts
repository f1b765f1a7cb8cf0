/**
 * Key limits on Redis, for every replica: one Lua script checks the budget, the requests of the
 * last minute (a sorted set), the tokens of the last minute and the slots in flight, and counts the
 * request, atomically. Every call falls back to this process's limiter when Redis fails.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Admission, LimitedKey, LimitReason, Limiter } from './limiter.js';

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

type Shared = <T>(remote: (redis: Redis) => Promise<T>, fallback: () => Promise<T>) => Promise<T>;

/** Redis names of a key's counters. */
function names(key: LimitedKey, now: number): string[] {
  const minute = Math.floor(now / 60_000);
  const base = `g4f:key:${key.name}`;
  return [`${base}:rpm`, `${base}:tpm:${minute}`, `${base}:tpm:${minute - 1}`, `${base}:parallel`, `${base}:budget:${key.budgetPeriod}`];
}

export function createRedisLimiter(shared: Shared, local: Limiter): Limiter {
  /** Starts the budget counter of a period from the database's count, once. */
  const seedBudget = async (redis: Redis, key: LimitedKey, name: string): Promise<void> => {
    if ((await redis.exists(name)) === 1) return;
    const spent = await key.spentBefore().catch(() => 0);
    await redis.set(name, String(spent), 'PX', 40 * 86_400_000, 'NX');
  };

  return {
    admit(key, now) {
      return shared<Admission>(async (redis) => {
        const keys = names(key, now);
        if (key.budgetTokens !== undefined) await seedBudget(redis, key, keys[4] as string);
        const member = `${now}-${randomBytes(6).toString('hex')}`;
        const answer = (await redis.eval(
          ADMIT,
          keys.length,
          ...keys,
          now,
          key.rpm ?? 0,
          key.tpm ?? 0,
          key.maxParallel ?? 0,
          key.budgetTokens ?? 0,
          member,
        )) as [number, string, number];
        if (answer[0] !== 1) return { ok: false, reason: answer[1] as LimitReason, retryAfterSeconds: Number(answer[2]) };
        if (key.maxParallel === undefined) return { ok: true, release: async () => undefined };
        const slot = keys[3] as string;
        return {
          ok: true,
          release: () => shared(async (client) => void (await client.eval(RELEASE, 1, slot)), async () => undefined),
        };
      }, () => local.admit(key, now));
    },
    charge(key, tokens, now) {
      if (tokens <= 0) return Promise.resolve();
      return shared(
        async (redis) => {
          const keys = names(key, now);
          const batch = redis.multi().incrby(keys[1] as string, tokens).pexpire(keys[1] as string, 120_000);
          if (key.budgetTokens !== undefined) batch.incrby(keys[4] as string, tokens);
          await batch.exec();
        },
        () => local.charge(key, tokens, now),
      );
    },
  };
}
