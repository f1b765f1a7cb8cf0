/**
 * Which names a request may use for this server (its `Host` header). A server on a loopback
 * address answers loopback names only, so that a web page whose domain is made to resolve to
 * 127.0.0.1 (DNS rebinding) cannot reach it from a browser: the browser sends that page's
 * domain as the Host. A server on another address answers any name unless names are configured.
 */

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
