/**
 * PostgreSQL connection URLs: checked once at start-up (a malformed one is a configuration error, not a
 * database that is down), and described for messages and logs as host:port/db, never with the password.
 */

export interface DatabaseAddress {
  readonly host: string;
  readonly port: number;
  /** The database name ('' when the URL names none: the server then uses the user's name). */
  readonly database: string;
  readonly user: string;
}

export const DATABASE_URL_FORM = 'postgres://user:password@host:5432/database';

/**
 * Parses a connection URL; throws a message naming what is wrong (never echoing the URL, which may hold a
 * password) when it is not a postgres:// or postgresql:// URL.
 */
export function parseDatabaseUrl(url: string): DatabaseAddress {
  // A fragment is never part of a connection URL: an unencoded # in the password cuts the URL short.
  if (url.includes('#')) {
    throw new Error(
      `holds a "#": percent-encode special characters in the password (# as %23); expected ${DATABASE_URL_FORM}`,
    );
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(
      `not a valid URL: expected ${DATABASE_URL_FORM} (percent-encode special characters in the password, e.g. @ as %40)`,
    );
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new Error(`expected a postgres:// or postgresql:// URL such as ${DATABASE_URL_FORM}`);
  }
  const decode = (text: string) => {
    try {
      return decodeURIComponent(text);
    } catch {
      throw new Error(`not a valid URL: a bad %-escape; expected ${DATABASE_URL_FORM}`);
    }
  };
  const user = decode(parsed.username);
  const database = decode(parsed.pathname.replace(/^\//, ''));
  if (database.includes('/')) {
    throw new Error(`the database name holds a "/": expected ${DATABASE_URL_FORM}`);
  }
  // A Unix socket directory may come as ?host=/var/run/postgresql.
  const host = parsed.searchParams.get('host') || decode(parsed.hostname) || 'localhost';
  return { host, port: parsed.port ? Number(parsed.port) : 5432, database, user };
}

/** The problem with a URL, or null when it parses. */
export function databaseUrlProblem(url: string): string | null {
  try {
    parseDatabaseUrl(url);
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

/** host:port/db for messages and logs (no user, no password). */
export function describeDatabase(address: DatabaseAddress): string {
  return `${address.host}:${address.port}/${address.database || address.user || '(default)'}`;
}
