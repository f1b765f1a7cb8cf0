/**
 * Keys with limits on the HTTP server: the key gate in front of the API doors (keys/gate.ts), and
 * `/admin/keys` for administrators, behind `G4F_ADMIN_KEY` only (no API key ever opens it):
 *   GET    /admin/keys                 every key with its limits and usage this period (never the key)
 *   POST   /admin/keys                 {name, rpm, tpm, max_parallel, budget_tokens, budget_period, models, expires}
 *                                      → 201 with the key, shown this once
 *   DELETE /admin/keys/{name}          revokes it
 *   GET    /admin/keys/usage           usage rows per key, day, model and provider (`?name=` for one key)
 * Without `G4F_ADMIN_KEY` the routes answer 404.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createApiKey, keyUsage, listApiKeys, revokeApiKey } from '../../store/key-admin.js';
import type { BudgetPeriod, KeyStore, NewKeyOptions } from '../../store/keys.js';
import { readJsonBodySized } from '../body.js';
import type { KeyGate } from '../keys/gate.js';
import { HttpRequestError } from '../openai-errors.js';
import { bearerToken } from '../auth.js';

export interface KeysHook {
  /** Runs before the route table: `/admin/keys` here, the key gate for the API doors, else `next`. */
  intercept(
    request: IncomingMessage,
    response: ServerResponse,
    path: string,
    headers: Record<string, string>,
    state: { route: string; controller?: AbortController | undefined },
    next: () => Promise<void>,
  ): Promise<void>;
  /** The named key of a request (for the metrics' `key` label). */
  keyName(request: IncomingMessage): string | undefined;
}

export interface KeysHookOptions {
  gate: KeyGate;
  keyStore: KeyStore;
  /** `G4F_ADMIN_KEY`; undefined: no admin routes. */
  adminKey: string | undefined;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

export function createKeysHook(options: KeysHookOptions): KeysHook {
  const { gate, keyStore } = options;
  const adminDigest = options.adminKey === undefined || options.adminKey === '' ? undefined : digest(options.adminKey);

  function sendJson(response: ServerResponse, status: number, headers: Record<string, string>, value: unknown): void {
    const body = JSON.stringify(value);
    response.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
    response.end(body);
  }

  async function admin(request: IncomingMessage, response: ServerResponse, path: string, headers: Record<string, string>): Promise<void> {
    if (adminDigest === undefined)
      throw new HttpRequestError(404, `Unknown route: ${request.method ?? 'GET'} ${path} (set G4F_ADMIN_KEY to manage keys over HTTP)`, {
        code: 'unknown_url',
      });
    const token = bearerToken(request.headers.authorization);
    if (token === undefined || !timingSafeEqual(digest(token), adminDigest)) {
      throw new HttpRequestError(401, 'The admin routes need the admin key: Authorization: Bearer <G4F_ADMIN_KEY>.', {
        type: 'authentication_error',
        code: 'invalid_admin_key',
      });
    }
    const url = new URL(request.url ?? '/', 'http://localhost');
    const method = request.method ?? 'GET';
    const rest = path.slice('/admin/keys'.length).replace(/^\/+/, '');
    if (rest === '' && method === 'GET') return sendJson(response, 200, headers, { object: 'list', data: await listApiKeys(keyStore) });
    if (rest === '' && method === 'POST') {
      const body = (await readJsonBodySized(request, 64 * 1024, response)).value;
      const created = await createApiKey(keyStore, keyOptions(body));
      await gate.start();
      return sendJson(response, 201, headers, { key: created.key, ...created.summary });
    }
    if (rest === 'usage' && method === 'GET') {
      const name = url.searchParams.get('name') ?? undefined;
      return sendJson(response, 200, headers, { object: 'list', data: await keyUsage(keyStore, name) });
    }
    if (rest !== '' && rest !== 'usage' && method === 'DELETE') {
      const name = decodeURIComponent(rest);
      const revoked = await revokeApiKey(keyStore, name);
      gate.forget();
      return sendJson(response, 200, headers, { name, revoked });
    }
    throw new HttpRequestError(404, `Unknown route: ${method} ${path}`, { code: 'unknown_url' });
  }

  return {
    async intercept(request, response, path, headers, state, next) {
      if (path === '/admin/keys' || path.startsWith('/admin/keys/')) {
        state.route = 'admin';
        return admin(request, response, path, headers);
      }
      return gate.run(request, response, path, state, next);
    },
    keyName: (request) => gate.keyName(request),
  };
}

/** The JSON body of POST /admin/keys as the options of a new key (the checks are newKey's). */
function keyOptions(body: unknown): NewKeyOptions {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new HttpRequestError(400, 'The body must be a JSON object with at least a name.', { code: 'invalid_request' });
  const value = body as Record<string, unknown>;
  const options: NewKeyOptions = { name: value.name as string };
  const fields: Array<[string, keyof NewKeyOptions]> = [
    ['rpm', 'rpm'],
    ['tpm', 'tpm'],
    ['max_parallel', 'maxParallel'],
    ['budget_tokens', 'budgetTokens'],
  ];
  for (const [wire, field] of fields)
    if (value[wire] !== undefined && value[wire] !== null) (options as unknown as Record<string, unknown>)[field] = value[wire];
  if (value.budget_period !== undefined) options.budgetPeriod = value.budget_period as BudgetPeriod;
  if (value.models !== undefined) {
    if (!Array.isArray(value.models)) throw new HttpRequestError(400, 'models must be a list of model names.', { code: 'invalid_request', param: 'models' });
    options.models = value.models as string[];
  }
  if (value.expires !== undefined) {
    if (typeof value.expires !== 'string')
      throw new HttpRequestError(400, 'expires must be a string such as "30d".', { code: 'invalid_request', param: 'expires' });
    options.expiresAt = value.expires;
  }
  return options;
}
