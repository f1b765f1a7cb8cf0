/** API keys of the server: `Authorization: Bearer <key>`, compared in constant time. */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/**
 * A check of a request's bearer token against `keys`. With no keys, every request passes.
 * Keys and tokens are hashed first, so every comparison is between equal-length digests and
 * takes the same time whatever the token; every key is compared (no early exit).
 */
export function createAuthorizer(keys: readonly string[]): (request: IncomingMessage) => boolean {
  const digests = keys.filter((key) => key.length > 0).map(digest);
  if (digests.length === 0) return () => true;
  return (request) => {
    const token = bearerToken(request.headers.authorization);
    if (token === undefined) return false;
    const presented = digest(token);
    let match = false;
    for (const expected of digests) match = timingSafeEqual(presented, expected) || match;
    return match;
  };
}

export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^\s*Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/** Keys from a comma-separated list (e.g. the `G4F_API_KEYS` variable); blanks dropped. */
export function parseApiKeys(list: string | undefined): string[] {
  if (list === undefined) return [];
  return list
    .split(',')
    .map((key) => key.trim())
    .filter((key) => key.length > 0);
}
