/**
 * Opening a Tasker's database: the given one, a PostgreSQL pool for a URL, the shared data directory, or
 * an in-memory PGlite; then waiting for a server that is down, starting or full (docs/deployment.md),
 * migrating and storing the configured rate limits. On failure a database opened here is closed again.
 */
import type { Logger, ResolvedConfig } from '../config/options.js';
import { openDataDir } from '../db/data-dir/open-data-dir.js';
import type { Database } from '../db/database.js';
import { parseDatabaseUrl } from '../db/database-url.js';
import { migrate } from '../db/migrate.js';
import { createPgliteDatabase } from '../db/pglite-database.js';
import { createPostgresDatabase } from '../db/postgres-database.js';
import { translateDatabaseError } from '../db/sql-errors.js';
import { waitForDatabase } from '../db/wait-for-database.js';
import { defineRateLimit } from '../engine/sql/rate-limit-queries.js';
import { createSqlContext } from '../engine/sql/sql-context.js';

export interface OpenedDatabase {
  readonly database: Database;
  /** Opened here, so closed by the Tasker's close(). */
  readonly owned: boolean;
}

export async function openDatabase(
  config: ResolvedConfig,
  given: Database | undefined,
  logger: Logger,
): Promise<OpenedDatabase> {
  const database =
    given ??
    (config.database.url
      ? createPostgresDatabase({
          connectionString: config.database.url,
          ...(config.database.listenUrl ? { listenConnectionString: config.database.listenUrl } : {}),
          maxConnections: config.database.maxConnections,
          onBackgroundError: (error) => logger.warn({ err: error }, 'database connection error'),
        })
      : config.database.dataDir
        ? // Shared with the other processes on this machine, never copied (docs/deployment.md).
          await openDataDir({
            dataDir: config.database.dataDir,
            onBackgroundError: (error) => logger.warn({ err: error }, 'embedded database connection error'),
          })
        : await createPgliteDatabase());

  try {
    // PGlite is in-process: only a server is waited for.
    if (database.kind === 'postgres' && config.database.url) {
      await waitForDatabase(database, {
        address: parseDatabaseUrl(config.database.url),
        timeoutMs: config.database.connectTimeoutMs,
        logger,
      });
    }
    if (config.database.migrate) await migrate(database, config.database.schema);
    const sql = createSqlContext(database, config.database.schema);
    for (const limit of config.rateLimits) {
      await defineRateLimit(sql, limit.name, limit.rate, limit.burst);
    }
  } catch (error) {
    // Not awaited: a connection attempt to a host that never answers would hold the error back until
    // its own timeout.
    if (!given) void database.close().catch(() => {});
    throw translateDatabaseError(error);
  }
  return { database, owned: !given };
}
