/**
 * The parts of undici the request path uses, loaded without the rest of the
 * package: its entry module also loads fetch, WebSocket, caches and mocks,
 * which triples the command line's start-up time. If a later undici moves
 * these files, the package entry is used instead.
 */
import { createRequire } from 'node:module';
import type { Agent as AgentClass, Dispatcher, ProxyAgent as ProxyAgentClass } from 'undici';

const require = createRequire(import.meta.url);

function loadAgent(): typeof AgentClass {
  try {
    return require('undici/lib/dispatcher/agent.js') as typeof AgentClass;
  } catch {
    return (require('undici') as typeof import('undici')).Agent;
  }
}

export const Agent = loadAgent();

/** undici's ProxyAgent, loaded (with the whole package, which it needs) when a proxy is first used. */
export function createProxyAgent(options: ProxyAgentClass.Options): Dispatcher {
  const { ProxyAgent } = require('undici') as typeof import('undici');
  return new ProxyAgent(options);
}

/** undici's global dispatcher, for a provider context made without one. */
export function globalDispatcher(): Dispatcher {
  return (require('undici') as typeof import('undici')).getGlobalDispatcher();
}
