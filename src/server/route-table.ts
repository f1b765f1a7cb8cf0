/**
 * The server's one route table: (method, path pattern, handler) rows, matched in plain code.
 *
 * A pattern is a path whose segments are literal, `:name` (one segment) or `*name` (the rest of
 * the path, slashes included; may be empty), e.g. `/v1/responses/:id` or `/v1/models/*id`. Where
 * several patterns fit a path, the most literal one wins (literal before `:name` before `*name`,
 * segment by segment), so `/api/conversations/import` is not read as a conversation id. `GET`
 * rows answer `HEAD` too. A path that a pattern fits with none of its methods is a 405 whose
 * `Allow` lists that pattern's methods.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** What a handler gets: the exchange, its path parameters (still percent-encoded), and the request's own state. */
export interface RouteCall<State = unknown> {
  request: IncomingMessage;
  response: ServerResponse;
  method: string;
  path: string;
  query: URLSearchParams;
  params: Readonly<Record<string, string>>;
  /** Headers every answer carries (request id, CORS). */
  headers: Record<string, string>;
  /** The request id (x-request-id). */
  id: string;
  /** `performance.now()` when the request arrived. */
  startedAt: number;
  state: State;
  /**
   * The signal of this request's upstream call (request-signals.ts): aborted when the client goes
   * away before the answer is complete, or at the shutdown deadline.
   */
  upstreamSignal(): AbortSignal;
}

export interface Route<State = unknown> {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  path: string;
  /** The route's name in metrics and the request log (`chat`, `embeddings`, `models`…). */
  name: string;
  handle(call: RouteCall<State>): Promise<void> | void;
}

export type RouteMatch<State> =
  | { kind: 'found'; route: Route<State>; params: Record<string, string> }
  /** The path is known, the method is not: `allow` lists the methods of the path, `name` its route. */
  | { kind: 'method'; allow: string; name: string }
  | { kind: 'none' };

interface Compiled<State> {
  route: Route<State>;
  segments: string[];
  /** 0 literal, 1 `:name`, 2 `*name`, per segment: the lower, the more literal. */
  ranks: number[];
}

export interface RouteTable<State> {
  match(method: string, path: string): RouteMatch<State>;
}

export function createRouteTable<State>(routes: ReadonlyArray<Route<State>>): RouteTable<State> {
  const compiled: Compiled<State>[] = routes.map((route) => {
    const segments = route.path.split('/').slice(1);
    return { route, segments, ranks: segments.map((segment) => (segment.startsWith('*') ? 2 : segment.startsWith(':') ? 1 : 0)) };
  });

  function fit(entry: Compiled<State>, parts: readonly string[]): Record<string, string> | undefined {
    const params: Record<string, string> = {};
    for (let index = 0; index < entry.segments.length; index += 1) {
      const segment = entry.segments[index] as string;
      // `/v1/models/*id` fits `/v1/models/` (an empty rest), never `/v1/models`.
      if (index >= parts.length) return undefined;
      if (segment.startsWith('*')) {
        params[segment.slice(1)] = parts.slice(index).join('/');
        return params;
      }
      const part = parts[index] as string;
      if (segment.startsWith(':')) {
        if (part === '') return undefined;
        params[segment.slice(1)] = part;
      } else if (segment !== part) {
        return undefined;
      }
    }
    return parts.length === entry.segments.length ? params : undefined;
  }

  return {
    match(method, path) {
      const parts = path.split('/').slice(1);
      let best: Compiled<State>[] = [];
      for (const entry of compiled) {
        if (fit(entry, parts) === undefined) continue;
        const order = best.length === 0 ? -1 : compareRanks(entry.ranks, (best[0] as Compiled<State>).ranks);
        if (order < 0) best = [entry];
        else if (order === 0 && entry.route.path === (best[0] as Compiled<State>).route.path) best.push(entry);
      }
      if (best.length === 0) return { kind: 'none' };
      const wanted = method === 'HEAD' ? 'GET' : method;
      const found = best.find((entry) => entry.route.method === wanted);
      if (found !== undefined) return { kind: 'found', route: found.route, params: fit(found, parts) ?? {} };
      const first = best[0] as Compiled<State>;
      return { kind: 'method', allow: [...new Set(best.map((entry) => entry.route.method))].join(', '), name: first.route.name };
    },
  };
}

/** Literal before parameter before rest, segment by segment; then the shorter pattern (a shorter rest). */
function compareRanks(left: readonly number[], right: readonly number[]): number {
  for (let index = 0; index < Math.min(left.length, right.length); index += 1) {
    const difference = (left[index] as number) - (right[index] as number);
    if (difference !== 0) return difference;
  }
  return left.length - right.length;
}
