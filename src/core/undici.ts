/**
 * The parts of undici the request path uses, loaded without the rest of the
 * package: its entry module also loads fetch, WebSocket, caches and mocks,
 * which triples the command line's start-up time. If a later undici moves
 * these files, the package entry is used instead.
 */
import { createRequire } from 'node:module';
import type { Agent as AgentClass, Dispatcher, ProxyAgent as ProxyAgentClass } from 'undici';

const require = createRequire(import.meta.url);

type RequestOptions = Dispatcher.RequestOptions<unknown>;
type RequestFunction = (this: Dispatcher, options: RequestOptions) => Promise<Dispatcher.ResponseData>;

interface Parts {
  Agent: typeof AgentClass;
  request: RequestFunction;
}

function load(): Parts {
  try {
    return {
      Agent: require('undici/lib/dispatcher/agent.js') as typeof AgentClass,
      request: require('undici/lib/api/api-request.js') as RequestFunction,
    };
  } catch {
    const undici = require('undici') as typeof import('undici');
    return { Agent: undici.Agent, request: undici.Dispatcher.prototype.request as unknown as RequestFunction };
  }
}

const parts = load();

export const Agent = parts.Agent;

/** undici's request API on a dispatcher, from origin and path (no URL parsing per call). */
export function dispatchRequest(dispatcher: Dispatcher, options: RequestOptions): Promise<Dispatcher.ResponseData> {
  return parts.request.call(dispatcher, options);
}

/** undici's ProxyAgent, loaded (with the whole package, which it needs) when a proxy is first used. */
export function createProxyAgent(options: ProxyAgentClass.Options): Dispatcher {
  const { ProxyAgent } = require('undici') as typeof import('undici');
  return new ProxyAgent(options);
}
