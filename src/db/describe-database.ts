/**
 * One short description of the database a process uses, the same everywhere it is shown: the start-up
 * line of `tasker serve`, `worker`, `run` and `doctor`, and the `database` field of /health/status.
 * Never the password: a PostgreSQL URL is reduced to user, host, port and database.
 */

/** How a process reaches an embedded data directory (see data-dir/open-data-dir.ts). */
export type DataDirSharing =
  | {
      /** This process opened the data directory and serves it to the others on `socket` (null: not served). */
      readonly role: 'owner';
      readonly socket: string | null;
    }
  | {
      /** Another process owns the data directory; this one is its client over `socket`. */
      readonly role: 'client';
      readonly socket: string;
      readonly ownerPid: number;
      readonly ownerCommand: string;
    };

export interface DatabaseDescription {
  readonly kind: 'postgres' | 'pglite';
  readonly schema: string;
  /** PostgreSQL: where it is (no password). */
  readonly host?: string;
  readonly port?: number;
  readonly database?: string;
  readonly user?: string;
  /** PGlite: the data directory (absolute when configured so), or null in memory. */
  readonly dataDir?: string | null;
  readonly sharing?: DataDirSharing;
  /** The one-line form: `PostgreSQL tasker@db.internal:5432/app, schema tasker`. */
  readonly text: string;
}

export interface DatabaseLocation {
  readonly url: string | null;
  readonly dataDir: string | null;
  readonly schema: string;
}

function postgresParts(url: string): Pick<DatabaseDescription, 'host' | 'port' | 'database' | 'user'> {
  try {
    const parsed = new URL(url);
    const socketHost = parsed.searchParams.get('host');
    const host = decodeURIComponent(parsed.hostname) || socketHost || 'localhost';
    const database = decodeURIComponent(parsed.pathname.replace(/^\//, '')) || undefined;
    const user = decodeURIComponent(parsed.username) || undefined;
    return {
      host,
      port: parsed.port ? Number(parsed.port) : 5432,
      ...(database ? { database } : {}),
      ...(user ? { user } : {}),
    };
  } catch {
    return {}; // not a URL (a key=value string): say only that it is PostgreSQL
  }
}

/** Describes a resolved database configuration (and, for a data directory, how this process reaches it). */
export function describeDatabase(location: DatabaseLocation, sharing?: DataDirSharing): DatabaseDescription {
  const schema = location.schema;
  if (location.url) {
    const parts = postgresParts(location.url);
    const where = parts.host
      ? `${parts.user ? `${parts.user}@` : ''}${parts.host}:${parts.port}${parts.database ? `/${parts.database}` : ''}`
      : '(connection string)';
    return { kind: 'postgres', schema, ...parts, text: `PostgreSQL ${where}, schema ${schema}` };
  }
  const where = location.dataDir ? `embedded PGlite in ${location.dataDir}` : 'embedded PGlite in memory';
  const how = !sharing
    ? ''
    : sharing.role === 'owner'
      ? sharing.socket
        ? ' (owned by this process, shared with others)'
        : ' (owned by this process, not shared)'
      : ` (shared: owned by pid ${sharing.ownerPid}, ${sharing.ownerCommand})`;
  return {
    kind: 'pglite',
    schema,
    dataDir: location.dataDir,
    ...(sharing ? { sharing } : {}),
    text: `${where}${how}, schema ${schema}`,
  };
}
