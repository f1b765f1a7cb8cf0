/**
 * The chat page's files: `web/dist/` (built by `scripts/build-web.mjs`), served with strict
 * security headers. Only files that exist directly in that folder tree are served; nothing
 * outside it can be reached.
 */
import { readFile, stat } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** `web/dist` of the package: two levels above this file, in `src/server` as in `dist/server`. */
export const WEB_ROOT = fileURLToPath(new URL('../../web/dist/', import.meta.url));

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.map': 'application/json',
  '.woff2': 'font/woff2',
};

/** The page's policy: only its own scripts and styles, no inline script, no framing. */
export const PAGE_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; '),
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

export interface StaticFiles {
  /** Serves `pathname` (`/` = index.html) if it is a file of the page; false otherwise. */
  serve(pathname: string, method: string, response: ServerResponse): Promise<boolean>;
}

export function createStaticFiles(root: string = WEB_ROOT): StaticFiles {
  const cache = new Map<string, { body: Buffer; mtimeMs: number }>();

  async function load(file: string): Promise<Buffer | undefined> {
    let info;
    try {
      info = await stat(file);
    } catch {
      return undefined;
    }
    if (!info.isFile()) return undefined;
    const cached = cache.get(file);
    if (cached !== undefined && cached.mtimeMs === info.mtimeMs) return cached.body;
    const body = await readFile(file);
    cache.set(file, { body, mtimeMs: info.mtimeMs });
    return body;
  }

  return {
    async serve(pathname, method, response) {
      if (method !== 'GET' && method !== 'HEAD') return false;
      const relative = pathname === '/' || pathname === '/index.html' ? 'index.html' : pathname.slice(1);
      if (relative.includes('\0') || relative.includes('\\')) return false;
      const file = normalize(join(root, relative));
      if (!file.startsWith(root.endsWith(sep) ? root : `${root}${sep}`)) return false;
      const body = await load(file);
      if (body === undefined) {
        if (relative !== 'index.html') return false;
        sendNotBuilt(response, method);
        return true;
      }
      const type = TYPES[extname(file)] ?? 'application/octet-stream';
      response.writeHead(200, {
        ...PAGE_SECURITY_HEADERS,
        'content-type': type,
        'content-length': body.length,
        'cache-control': relative === 'index.html' ? 'no-cache' : 'public, max-age=300',
      });
      response.end(method === 'HEAD' ? undefined : body);
      return true;
    },
  };
}

function sendNotBuilt(response: ServerResponse, method: string): void {
  const text =
    '<!doctype html><meta charset="utf-8"><title>g4f</title><p>The chat page is not built. Run <code>npm run build</code> (or <code>node scripts/build-web.mjs</code>) and reload.</p>';
  response.writeHead(503, { ...PAGE_SECURITY_HEADERS, 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  response.end(method === 'HEAD' ? undefined : text);
}
