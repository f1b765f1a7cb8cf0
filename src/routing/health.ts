/**
 * Health of one provider: a circuit breaker (closed → open after N consecutive
 * failures → half-open after a cool-down, where one probe decides) and a
 * window of recent outcomes for success rate and latency.
 */
import type { G4FError } from '../core/errors.js';
import type { CircuitState, ProviderHealth } from './types.js';

export interface CircuitOptions {
  /** Consecutive failures that open the circuit. */
  failureThreshold: number;
  /** How long an open circuit skips the provider before one probe. */
  cooldownMs: number;
  /** How many recent calls the success rate and latency are computed over. */
  window: number;
}

export const DEFAULT_CIRCUIT: Readonly<CircuitOptions> = Object.freeze({ failureThreshold: 5, cooldownMs: 30_000, window: 50 });

export interface Breaker {
  /** May a call go to this provider now? In half-open state, only one probe at a time. */
  allow(): boolean;
  /** Milliseconds until an open circuit lets a probe through (0 when it would now). */
  retryInMs(): number;
  /** A call succeeded; its latency is the time to its first chunk. */
  success(latencyMs: number): void;
  failure(error: G4FError): void;
  /** The call ended without a verdict (the caller aborted): free the probe slot. */
  release(): void;
  /** Another replica opened this provider's circuit (circuit-share.ts): open it here too, until `untilMs`. */
  openUntil(untilMs: number, lastError?: ProviderHealth['lastError']): void;
  snapshot(): ProviderHealth;
}

/**
 * Circuits shared by several replicas (through Redis): a circuit opened on one is opened on the
 * others until the same time. Without it, every process keeps its own.
 */
export interface CircuitShare {
  /** A circuit opened here. */
  opened(provider: string, untilMs: number, lastError: ProviderHealth['lastError']): void;
  /** Calls `listener` for each circuit opened by another replica. */
  subscribe(listener: (provider: string, untilMs: number, lastError: ProviderHealth['lastError']) => void): void;
}

export function createBreaker(
  provider: string,
  options: CircuitOptions,
  now: () => number = Date.now,
  onOpen?: (untilMs: number, lastError: ProviderHealth['lastError']) => void,
): Breaker {
  let state: CircuitState = 'closed';
  let consecutiveFailures = 0;
  let openedUntil = 0;
  let probing = false;
  let lastError: ProviderHealth['lastError'];
  const outcomes: Array<{ ok: boolean; latencyMs: number }> = [];

  function record(ok: boolean, latencyMs: number): void {
    outcomes.push({ ok, latencyMs });
    if (outcomes.length > options.window) outcomes.shift();
  }

  function currentState(): CircuitState {
    if (state === 'open' && now() >= openedUntil) return 'half-open';
    return state;
  }

  return {
    allow() {
      const current = currentState();
      if (current === 'closed') return true;
      if (current === 'open' || probing) return false;
      state = 'half-open';
      probing = true;
      return true;
    },
    retryInMs() {
      return state === 'open' ? Math.max(0, openedUntil - now()) : 0;
    },
    success(latencyMs) {
      record(true, latencyMs);
      consecutiveFailures = 0;
      state = 'closed';
      probing = false;
    },
    failure(error) {
      record(false, 0);
      consecutiveFailures++;
      lastError = { code: error.code, message: error.message, at: new Date(now()).toISOString() };
      if (probing || state === 'half-open' || consecutiveFailures >= options.failureThreshold) {
        state = 'open';
        openedUntil = now() + options.cooldownMs;
        onOpen?.(openedUntil, lastError);
      }
      probing = false;
    },
    release() {
      probing = false;
    },
    openUntil(untilMs, error) {
      if (untilMs <= now() || (state === 'open' && openedUntil >= untilMs)) return;
      state = 'open';
      openedUntil = untilMs;
      probing = false;
      if (error !== undefined) lastError = error;
    },
    snapshot() {
      const current = currentState();
      const successes = outcomes.filter((outcome) => outcome.ok);
      const latencies = successes.map((outcome) => outcome.latencyMs).sort((a, b) => a - b);
      return {
        provider,
        state: current,
        consecutiveFailures,
        calls: outcomes.length,
        successRate: outcomes.length === 0 ? 1 : successes.length / outcomes.length,
        latencyMs: latencies.length === 0 ? undefined : latencies[Math.floor(latencies.length / 2)],
        lastError,
        retryAt: current === 'open' ? new Date(openedUntil).toISOString() : undefined,
      };
    },
  };
}
