/**
 * Where the database is: `G4F_DATABASE_URL` (or the config's `database.url`). `postgres://...`
 * (or `postgresql://`) selects PostgreSQL; `sqlite:PATH` a SQLite file; nothing, the SQLite file
 * of the data directory. Anything else is a ConfigError that says what is expected.
 */
import { ConfigError } from '../core/errors.js';

export type DatabaseLocation = { kind: 'sqlite'; filename?: string } | { kind: 'postgres'; url: string };

const EXPECTED = 'expected postgres://user:password@host:5432/database, or sqlite:/path/to/file.sqlite';

export function parseDatabaseUrl(text: string, source = 'G4F_DATABASE_URL'): DatabaseLocation {
  const value = text.trim();
  if (/^sqlite:/i.test(value)) {
    const filename = value.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (filename === '' || filename === '//') throw new ConfigError(`${source}: the sqlite: URL names no file; ${EXPECTED}`);
    return { kind: 'sqlite', filename };
  }
  if (/^postgres(?:ql)?:\/\//i.test(value)) {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new ConfigError(`${source}: not a valid URL; ${EXPECTED}`);
    }
    if (url.hostname === '' && !url.searchParams.has('host')) throw new ConfigError(`${source}: the URL names no host; ${EXPECTED}`);
    if (url.port !== '' && !(Number(url.port) > 0 && Number(url.port) < 65_536)) throw new ConfigError(`${source}: bad port; ${EXPECTED}`);
    return { kind: 'postgres', url: value };
  }
  throw new ConfigError(`${source}: unknown kind of database URL ${JSON.stringify(redact(value))}; ${EXPECTED}`);
}

/** `G4F_DATABASE_URL`, else the config's `database.url`, else the default SQLite file (undefined). */
export function databaseFrom(config: { database?: { url?: string | undefined } | undefined }, environment = process.env): DatabaseLocation | undefined {
  const fromEnvironment = environment.G4F_DATABASE_URL;
  if (fromEnvironment !== undefined && fromEnvironment.trim() !== '') return parseDatabaseUrl(fromEnvironment);
  const fromConfig = config.database?.url;
  if (fromConfig !== undefined && fromConfig.trim() !== '') return parseDatabaseUrl(fromConfig, 'config database.url');
  return undefined;
}

/** A URL without its password, for error messages. */
export function redact(text: string): string {
  return text.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@').slice(0, 200);
}
