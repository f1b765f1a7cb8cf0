/**
 * State shared by replicas through Redis (`G4F_REDIS_URL` or the config's `redis.url`): circuits
 * opened (published to the others), the counters of key limits and budgets. Without Redis, all of
 * it stays in this process. When Redis goes away mid-run every call falls back to this process's
 * own state at once (short timeouts, no offline queue): one warning line, and the gauge
 * `g4f_shared_state_degraded` at 1; when it is back, shared again (an info line, the gauge at 0).
 */
import { randomBytes } from 'node:crypto';
import { ConfigError } from '../../core/errors.js';
import type { CircuitShare } from '../../routing/health.js';
import type { ProviderHealth } from '../../routing/types.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { createLocalLimiter, type Limiter } from './limiter.js';
import { createRedisLimiter, defineLimitScripts, type LimitsRedis } from './redis-limiter.js';

export interface SharedState {
  limiter: Limiter;
  /** Undefined without Redis (each process its own circuits). */
  circuitShare: CircuitShare | undefined;
  /** True while Redis is configured but unreachable. */
  degraded(): boolean;
  close(): Promise<void>;
}

const EXPECTED = 'expected redis://[user:password@]host:6379[/db] or rediss://...';

/** Checks a Redis URL; a ConfigError names the source and what is expected. */
export function parseRedisUrl(text: string, source = 'G4F_REDIS_URL'): string {
  const value = text.trim();
  if (!/^rediss?:\/\//i.test(value)) throw new ConfigError(`${source}: not a Redis URL; ${EXPECTED}`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${source}: not a valid URL; ${EXPECTED}`);
  }
  if (url.hostname === '') throw new ConfigError(`${source}: the URL names no host; ${EXPECTED}`);
  if (url.pathname !== '' && url.pathname !== '/' && !/^\/\d{1,2}$/.test(url.pathname))
    throw new ConfigError(`${source}: the database must be a number; ${EXPECTED}`);
  return value;
}

/** `G4F_REDIS_URL`, else the config's `redis.url`, else undefined (state stays in-process). */
export function redisFrom(config: { redis?: { url?: string | undefined } | undefined }, environment = process.env): string | undefined {
  const fromEnvironment = environment.G4F_REDIS_URL;
  if (fromEnvironment !== undefined && fromEnvironment.trim() !== '') return parseRedisUrl(fromEnvironment);
  const fromConfig = config.redis?.url;
  if (fromConfig !== undefined && fromConfig.trim() !== '') return parseRedisUrl(fromConfig, 'config redis.url');
  return undefined;
}

const CIRCUITS = 'g4f:circuits';

export interface SharedStateOptions {
  logger: Logger;
  metrics: Metrics;
  /** How long a Redis command may take before the call falls back (default 250 ms). */
  commandTimeoutMs?: number;
}

export async function createSharedState(url: string | undefined, options: SharedStateOptions): Promise<SharedState> {
  const local = createLocalLimiter();
  if (url === undefined) return { limiter: local, circuitShare: undefined, degraded: () => false, close: async () => undefined };
  const { logger, metrics } = options;
  const redisOptions = {
    lazyConnect: true,
    enableOfflineQueue: false,
    // Commands of concurrent requests leave in one write.
    enableAutoPipelining: true,
    maxRetriesPerRequest: 0,
    connectTimeout: 1_000,
    commandTimeout: options.commandTimeoutMs ?? 250,
    retryStrategy: (times: number) => Math.min(100 * times, 1_000),
  };
  // Loaded only when Redis is configured: a server without it never loads the client.
  const { Redis } = await import('ioredis');
  const client = defineLimitScripts(new Redis(url, redisOptions));
  const seeded = new Set<string>();
  // A subscriber queues its SUBSCRIBE until connected, and subscribes again after a reconnection.
  const subscriber = new Redis(url, { ...redisOptions, enableOfflineQueue: true, commandTimeout: undefined });
  const origin = randomBytes(8).toString('hex');
  let degraded = false;
  let closed = false;
  metrics.sharedStateDegraded(false);

  const degrade = (error?: unknown): void => {
    if (degraded || closed) return;
    degraded = true;
    metrics.sharedStateDegraded(true);
    logger.log('warn', {
      event: 'shared-state-degraded',
      message: `Redis is unreachable (${error instanceof Error ? error.message : 'not connected'}): circuits, key limits and usage counters are kept in this process until it is back`,
    });
  };
  client.on('error', (error: unknown) => degrade(error));
  subscriber.on('error', () => undefined);
  client.on('ready', () => {
    seeded.clear();
    if (!degraded) return;
    degraded = false;
    metrics.sharedStateDegraded(false);
    logger.log('info', { event: 'shared-state-recovered', message: 'Redis is back: circuits, key limits and usage counters are shared again' });
  });

  /** A call on Redis, or on this process's state when Redis is not ready or fails. */
  const shared = async <T>(remote: (redis: LimitsRedis) => Promise<T>, fallback: () => Promise<T>): Promise<T> => {
    if (client.status !== 'ready') {
      degrade();
      return fallback();
    }
    try {
      return await remote(client);
    } catch (error) {
      degrade(error);
      return fallback();
    }
  };

  const listeners: Array<(provider: string, untilMs: number, lastError: ProviderHealth['lastError']) => void> = [];
  subscriber.on('message', (_channel: string, text: string) => {
    try {
      const message = JSON.parse(text) as { origin: string; provider: string; untilMs: number; lastError?: ProviderHealth['lastError'] };
      if (message.origin === origin || typeof message.provider !== 'string' || typeof message.untilMs !== 'number') return;
      for (const listener of listeners) listener(message.provider, message.untilMs, message.lastError);
    } catch {
      // Not one of ours: ignored.
    }
  });

  await Promise.all([
    client.connect().catch((error: unknown) => degrade(error)),
    subscriber
      .connect()
      .then(() => subscriber.subscribe(CIRCUITS))
      .catch(() => undefined),
  ]);

  return {
    limiter: createRedisLimiter(shared, local, seeded),
    circuitShare: {
      opened(provider, untilMs, lastError) {
        void shared(
          (redis) => redis.publish(CIRCUITS, JSON.stringify({ origin, provider, untilMs, lastError })),
          async () => 0,
        );
      },
      subscribe(listener) {
        listeners.push(listener);
      },
    },
    degraded: () => degraded,
    async close() {
      closed = true;
      client.disconnect();
      subscriber.disconnect();
    },
  };
}
