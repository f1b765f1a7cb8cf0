/**
 * Which names a request may use for this server (its `Host` header). A server on a loopback
 * address answers loopback names only, so that a web page whose domain is made to resolve to
 * 127.0.0.1 (DNS rebinding) cannot reach it from a browser: the browser sends that page's
 * domain as the Host. A server on another address answers any name unless names are configured.
 *
 * Also where a Host header is parsed: a malformed one (a port that is not 1-65535, characters no
 * host name has) is a 400 on every route, and the page's API compares a browser's `Origin` with
 * the origin the Host names.
 */
import type { IncomingMessage } from 'node:http';
import { HttpRequestError } from './openai-errors.js';

/** `*`: any name. Otherwise names as they appear in `Host`, without the port; `.example.com` also allows its subdomains. */
export type AllowedHosts = readonly string[] | '*';

/** The loopback names: `localhost` and its subdomains (RFC 6761), `127.x.x.x`, `[::1]`. */
const LOOPBACK = /^(?:localhost|[a-z0-9.-]+\.localhost|127(?:\.\d{1,3}){3}|\[::1\])$/;

export function isLoopbackName(name: string): boolean {
  return LOOPBACK.test(name);
}

/** `localhost:1337` → `localhost`; `[::1]:1337` → `[::1]`; lower case, without a final dot. */
export function hostName(header: string): string {
  let name = header.trim().toLowerCase();
  if (name.startsWith('[')) {
    const end = name.indexOf(']');
    name = end === -1 ? name : name.slice(0, end + 1);
  } else {
    const colon = name.indexOf(':');
    if (colon !== -1) name = name.slice(0, colon);
  }
  return name.endsWith('.') ? name.slice(0, -1) : name;
}

/** Whether a listen address (`127.0.0.1`, `localhost`, `::1`, `[::1]`...) is a loopback one. */
export function isLoopbackAddress(bindHost: string): boolean {
  const name = bindHost.startsWith('[') ? bindHost : bindHost.includes(':') ? `[${bindHost}]` : bindHost;
  return isLoopbackName(hostName(name));
}

/** The default for a server bound to `bindHost`: loopback names on a loopback address, else any. */
export function defaultAllowedHosts(bindHost: string): AllowedHosts {
  return isLoopbackAddress(bindHost) ? [] : '*';
}

/** A list of names as configured: `*` among them allows any. */
export function allowedHostsFrom(names: readonly string[]): AllowedHosts {
  return names.includes('*') ? '*' : names;
}

/** `G4F_ALLOWED_HOSTS`: comma-separated names, or `*`. */
export function parseAllowedHosts(text: string | undefined): AllowedHosts | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  return allowedHostsFrom(
    text
      .split(',')
      .map((name) => name.trim())
      .filter((name) => name !== ''),
  );
}

/**
 * A check of the Host header. Loopback names are always allowed (they cannot be rebound); so is
 * a request without a Host (HTTP/1.0: browsers always send one).
 */
export function createHostCheck(allowed: AllowedHosts): (header: string | undefined) => boolean {
  if (allowed === '*') return () => true;
  const exact = new Set<string>();
  const suffixes: string[] = [];
  for (const entry of allowed) {
    const name = hostName(entry);
    if (name.startsWith('.')) {
      suffixes.push(name);
      exact.add(name.slice(1));
    } else exact.add(name);
  }
  let last = '';
  return (header) => {
    if (header === undefined || header === '') return true;
    if (header === last) return true;
    const name = hostName(header);
    const ok = isLoopbackName(name) || exact.has(name) || suffixes.some((suffix) => name.endsWith(suffix));
    // Nearly every request of a server carries the same Host: remember the last one allowed.
    if (ok) last = header;
    return ok;
  };
}

let lastValidHost = '';

/** A host name or an IPv4 address, or a bracketed IPv6 address. */
const HOST_NAME = /^(?:\[[0-9a-f:.]+\]|[a-z0-9._~!$&'()*+,;=-]+)$/i;

/**
 * Why a Host header is not a valid one (a sentence), or undefined when it is. A missing or empty
 * Host is valid here (HTTP/1.0; node:http answers a missing HTTP/1.1 Host itself).
 */
export function hostProblem(header: string | undefined): string | undefined {
  if (header === undefined || header === '' || header === lastValidHost) return undefined;
  const shown = JSON.stringify(header.length > 100 ? `${header.slice(0, 100)}…` : header);
  const bracket = header.startsWith('[') ? header.indexOf(']') : -1;
  const colon = header.indexOf(':', bracket === -1 ? 0 : bracket);
  const name = colon === -1 ? header : header.slice(0, colon);
  const port = colon === -1 ? undefined : header.slice(colon + 1);
  if (!HOST_NAME.test(name) || (header.startsWith('[') && bracket === -1)) {
    return `The Host header ${shown} is not a host name, an IP address or a bracketed IPv6 address (with an optional :port).`;
  }
  if (port !== undefined && (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65_535)) {
    return `The Host header ${shown} has a port that is not a number from 1 to 65535.`;
  }
  try {
    new URL(`http://${header}/`);
  } catch {
    return `The Host header ${shown} is not a valid host.`;
  }
  // Nearly every request of a server carries the same Host: remember the last valid one.
  lastValidHost = header;
  return undefined;
}

/**
 * The URL of a request from its target and its Host: a 400 naming what is wrong, never an
 * exception of `new URL`, when either is not valid.
 */
export function requestUrl(target: string | undefined, host: string | undefined): URL {
  const problem = hostProblem(host);
  if (problem !== undefined) throw new HttpRequestError(400, problem, { code: 'invalid_host' });
  try {
    return new URL(target ?? '/', `http://${host === undefined || host === '' ? 'localhost' : host}`);
  } catch {
    throw new HttpRequestError(400, 'The request target is not a valid path or URL.', { code: 'invalid_url' });
  }
}

/**
 * The origin a request's Host names, as a browser writes it in `Origin`: `https` when the
 * connection is TLS or a proxy in front says so in `X-Forwarded-Proto` (a header a page on
 * another origin cannot add without a preflight, which the page's API never grants), else `http`.
 * Undefined without a valid Host.
 */
export function ownOrigin(request: IncomingMessage): string | undefined {
  const host = request.headers.host;
  if (host === undefined || host === '' || hostProblem(host) !== undefined) return undefined;
  const forwarded = request.headers['x-forwarded-proto'];
  const proxyScheme = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim().toLowerCase();
  const tls = (request.socket as { encrypted?: boolean }).encrypted === true;
  const scheme = proxyScheme === 'https' || proxyScheme === 'http' ? proxyScheme : tls ? 'https' : 'http';
  return new URL(`${scheme}://${host}`).origin;
}

/**
 * Why a browser request comes from another site than this server's page, or undefined when it
 * does not: an `Origin` other than the one the Host names (`null` included), or
 * `Sec-Fetch-Site: cross-site`. A request without either (curl, the CLI) comes from no page.
 */
export function crossOriginProblem(request: IncomingMessage): string | undefined {
  const origin = request.headers.origin;
  if (origin !== undefined) {
    let sent: string | undefined;
    try {
      sent = new URL(origin).origin;
    } catch {
      sent = undefined;
    }
    const own = ownOrigin(request);
    if (sent === undefined || sent === 'null' || own === undefined || sent !== own) {
      const shown = JSON.stringify(origin.length > 200 ? `${origin.slice(0, 200)}…` : origin);
      return `The request comes from another origin (${shown}) than this server's page (${own ?? 'unknown: no valid Host'}).`;
    }
  }
  if (request.headers['sec-fetch-site']?.toLowerCase() === 'cross-site')
    return 'The browser says the request comes from another site (Sec-Fetch-Site: cross-site).';
  return undefined;
}
