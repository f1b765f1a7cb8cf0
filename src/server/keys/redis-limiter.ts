/**
 * Key limits on Redis, for every replica. The calls of one turn of the event loop go to Redis
 * together, as one Lua script call: first the answers that ended, added up by key (they free
 * their slots and charge their tokens to the minute and the budget), then the requests to admit
 * (each checks the budget, the requests of the last minute (a sorted set), the tokens of the last
 * minute and the slots in flight, and counts the request), atomically and in order. Under load
 * that is one write to Redis for many requests, not two for each. Every call falls back to this
 * process's limiter when Redis fails.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { admitted, type Admission, type LimitedKey, type LimitReason, type Limiter } from './limiter.js';

/**
 * KEYS: three per finish (the minute's tokens, the budget, the slots), then five per admission
 * (the requests of the minute, this minute's and the last minute's tokens, the slots, the budget).
 * ARGV: the number of finishes, then three per finish (tokens, slots to free, 1 to charge the
 * budget), then six per admission (now, rpm, tpm, max parallel, budget, the request's member).
 * Returns three values per admission: 1 or 0, the reason, the seconds to wait.
 */
const LIMITS = `
local function finish(k, a)
  local frees = tonumber(ARGV[a + 2])
  if frees > 0 and redis.call('DECRBY', KEYS[k + 3], frees) < 0 then redis.call('SET', KEYS[k + 3], 0) end
  local tokens = tonumber(ARGV[a + 1])
  if tokens > 0 then
    -- A minute's count is made once and kept two minutes.
    if redis.call('INCRBY', KEYS[k + 1], tokens) == tokens then redis.call('PEXPIRE', KEYS[k + 1], 120000) end
    if ARGV[a + 3] == '1' then redis.call('INCRBY', KEYS[k + 2], tokens) end
  end
end

local function admit(k, a)
  local now = tonumber(ARGV[a + 1])
  local rpm = tonumber(ARGV[a + 2])
  local tpm = tonumber(ARGV[a + 3])
  local maxp = tonumber(ARGV[a + 4])
  local budget = tonumber(ARGV[a + 5])
  local counts = redis.call('MGET', KEYS[k + 5], KEYS[k + 2], KEYS[k + 3], KEYS[k + 4])
  if budget > 0 and tonumber(counts[1] or '0') >= budget then return 0, 'budget', 3600 end
  if rpm > 0 then
    redis.call('ZREMRANGEBYSCORE', KEYS[k + 1], '-inf', now - 60000)
    if redis.call('ZCARD', KEYS[k + 1]) >= rpm then
      local oldest = redis.call('ZRANGE', KEYS[k + 1], 0, 0, 'WITHSCORES')
      return 0, 'rpm', math.max(1, math.ceil((tonumber(oldest[2]) + 60000 - now) / 1000))
    end
  end
  if tpm > 0 and tonumber(counts[2] or '0') + tonumber(counts[3] or '0') * (1 - (now % 60000) / 60000) >= tpm then
    return 0, 'tpm', math.max(1, math.ceil((60000 - now % 60000) / 1000))
  end
  if maxp > 0 then
    if tonumber(counts[4] or '0') >= maxp then return 0, 'parallel', 1 end
    redis.call('INCR', KEYS[k + 4])
    redis.call('PEXPIRE', KEYS[k + 4], 600000)
  end
  if rpm > 0 then
    redis.call('ZADD', KEYS[k + 1], now, ARGV[a + 6])
    redis.call('PEXPIRE', KEYS[k + 1], 60000)
  end
  return 1, 'ok', 0
end

local finishes = tonumber(ARGV[1])
local k, a = 0, 1
for _ = 1, finishes do
  finish(k, a)
  k, a = k + 3, a + 3
end
local answers = {}
while k < #KEYS do
  local ok, reason, wait = admit(k, a)
  table.insert(answers, ok)
  table.insert(answers, reason)
  table.insert(answers, wait)
  k, a = k + 5, a + 6
end
return answers
`;

/** At most this many admissions in one script call (a few milliseconds of Redis's time). */
const ADMISSIONS_PER_CALL = 256;

type Shared = <T>(remote: (redis: LimitsRedis) => Promise<T>, fallback: () => Promise<T>) => Promise<T>;

/** The connection with the script defined (sent once, then called by its SHA). */
export interface LimitsRedis extends Redis {
  /** The number of keys, the keys, then the arguments (see LIMITS), in one array (a busy turn has thousands). */
  g4fLimits(args: Array<string | number>): Promise<Array<string | number>>;
}

export function defineLimitScripts(redis: Redis): LimitsRedis {
  // No fixed number of keys: the first argument gives it.
  redis.defineCommand('g4fLimits', { lua: LIMITS });
  return redis as LimitsRedis;
}

/** Redis names of a key's counters. */
function names(key: LimitedKey, now: number): string[] {
  const minute = Math.floor(now / 60_000);
  const base = `g4f:key:${key.name}`;
  return [`${base}:rpm`, `${base}:tpm:${minute}`, `${base}:tpm:${minute - 1}`, `${base}:parallel`, `${base}:budget:${key.budgetPeriod}`];
}

/** The answers of one key that ended in this turn, added up: its tokens of the minute and the slots they free. */
interface Finish {
  keys: [minuteTokens: string, budget: string, slots: string];
  tokens: number;
  frees: number;
  budget: boolean;
  done: Array<() => void>;
}

interface Waiting {
  key: LimitedKey;
  now: number;
  keys: string[];
  args: Array<string | number>;
  resolve: (admission: Admission) => void;
}

/**
 * `seeded`: budget counters known to exist on the Redis of this connection (cleared when it
 * reconnects: a Redis that restarted has lost them, and they are started again from the database).
 */
export function createRedisLimiter(shared: Shared, local: Limiter, seeded: Set<string>): Limiter {
  /** Members of the requests-a-minute sets: this process's own prefix and a count. */
  const origin = randomBytes(6).toString('hex');
  let counted = 0;

  /** Starts the budget counter of a period from the database's count, once. */
  const seedBudget = async (redis: Redis, key: LimitedKey, name: string): Promise<void> => {
    if (seeded.has(name)) return;
    if ((await redis.exists(name)) === 0) {
      const spent = await key.spentBefore().catch(() => 0);
      await redis.set(name, String(spent), 'PX', 40 * 86_400_000, 'NX');
    }
    seeded.add(name);
  };

  let finishes = new Map<string, Finish>();
  const waiting: Waiting[] = [];
  let scheduled = false;

  /** Sends what this turn of the event loop asked for, in one script call. */
  const send = (): void => {
    scheduled = false;
    const ended = [...finishes.values()];
    finishes = new Map();
    // A burst goes out in several calls, the rest in the next turns.
    const asking = waiting.splice(0, ADMISSIONS_PER_CALL);
    if (waiting.length > 0) schedule();
    const keys: string[] = [];
    const args: Array<string | number> = [ended.length];
    for (const finish of ended) {
      keys.push(...finish.keys);
      args.push(finish.tokens, finish.frees, finish.budget ? 1 : 0);
    }
    for (const entry of asking) {
      keys.push(...entry.keys);
      args.push(...entry.args);
    }
    void shared(
      async (redis) => (await redis.g4fLimits([keys.length, ...keys, ...args])) as unknown[] | undefined,
      // Redis failed: the finishes are lost to the counters (their tokens are in the usage table),
      // the admissions are decided here.
      async () => undefined,
    ).then((answers) => {
      for (const finish of ended) for (const done of finish.done) done();
      asking.forEach((entry, index) => {
        if (answers === undefined) void local.admit(entry.key, entry.now).then(entry.resolve);
        else if (answers[index * 3] === 1) entry.resolve(admittedOnRedis(entry.key, entry.keys));
        else entry.resolve({ ok: false, reason: answers[index * 3 + 1] as LimitReason, retryAfterSeconds: Number(answers[index * 3 + 2]) });
      });
    });
  };

  const schedule = (): void => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(send);
  };

  /** Adds an answer's tokens and freed slot to those of its key in this turn. */
  const finishOnRedis = (keys: Finish['keys'], tokens: number, frees: number, budget: boolean): Promise<void> =>
    new Promise<void>((done) => {
      const id = `${keys[0]}\u0000${keys[1]}`;
      const finish = finishes.get(id);
      if (finish === undefined) finishes.set(id, { keys, tokens, frees, budget, done: [done] });
      else {
        finish.tokens += tokens;
        finish.frees += frees;
        finish.done.push(done);
      }
      schedule();
    });

  const admittedOnRedis = (key: LimitedKey, keys: string[]): Admission => {
    const [, minuteTokens, , slot, budgetName] = keys as [string, string, string, string, string];
    const budget = key.budgetTokens !== undefined;
    return admitted(
      key.maxParallel !== undefined,
      () => finishOnRedis([minuteTokens, budgetName, slot], 0, 1, budget),
      (tokens, at, freeing) => finishOnRedis([names(key, at)[1] as string, budgetName, slot], tokens, freeing ? 1 : 0, budget),
    );
  };

  return {
    async admit(key, now) {
      const keys = names(key, now);
      if (key.budgetTokens !== undefined && !seeded.has(keys[4] as string)) {
        const ready = await shared(
          async (redis) => {
            await seedBudget(redis, key, keys[4] as string);
            return true;
          },
          async () => false,
        );
        if (!ready) return local.admit(key, now);
      }
      counted += 1;
      const args = [now, key.rpm ?? 0, key.tpm ?? 0, key.maxParallel ?? 0, key.budgetTokens ?? 0, `${origin}-${counted}`];
      return new Promise<Admission>((resolve) => {
        waiting.push({ key, now, keys, args, resolve });
        schedule();
      });
    },
  };
}
