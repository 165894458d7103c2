/**
 * Runs the schema migrations (src/db/migrations/*.sql) forward. Each migration runs in its own
 * transaction under an advisory lock, so processes starting at once apply each migration exactly once;
 * re-running is a no-op. A database migrated by a newer version of Tasker is refused.
 */
import { TaskerError } from '../errors.js';
import type { Database, Queryable } from './database.js';
import { quoteIdent, quoteLiteral } from './database.js';
import { MIGRATIONS, type Migration } from './migrations.generated.js';

/** Schema names: letters, digits, `_`, `-` and spaces (quoted everywhere), at most 48 characters. */
const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_ -]{0,47}$/;

export function assertSchemaName(schema: string): void {
  if (!SCHEMA_NAME.test(schema)) {
    throw new TaskerError(
      'TASKER_INVALID_CONFIG',
      `invalid schema name ${JSON.stringify(schema)}: expected 1-48 letters, digits, "_", "-" or spaces, starting with a letter or "_"`,
    );
  }
}

/** Fills the placeholders of a migration for a schema. */
export function renderMigrationSql(sql: string, schema: string): string {
  return sql
    .replaceAll(':TASKER_SCHEMA_LITERAL', quoteLiteral(schema))
    .replaceAll(':TASKER_SCHEMA', quoteIdent(schema))
    .replaceAll(':TASKER_CHANNEL', schema.replaceAll("'", "''"));
}

export const LATEST_MIGRATION = MIGRATIONS[MIGRATIONS.length - 1]!.id;

async function currentVersion(db: Queryable, schema: string): Promise<number> {
  const { rows } = await db.query<{ version: number | null }>(
    `SELECT max(id) AS version FROM ${quoteIdent(schema)}.migrations`,
  );
  return rows[0]?.version ?? 0;
}

/** The schema's migration state, without changing anything. */
export async function migrationStatus(
  db: Database,
  schema: string,
): Promise<{ current: number; latest: number; pending: number }> {
  const { rows } = await db.query<{ present: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS present`, [
    `${quoteIdent(schema)}.migrations`,
  ]);
  const current = rows[0]?.present ? await currentVersion(db, schema) : 0;
  return { current, latest: LATEST_MIGRATION, pending: Math.max(0, LATEST_MIGRATION - current) };
}

/**
 * Applies every pending migration; returns the ids applied by this call. `to` stops at that migration
 * (a staged upgrade); `migrations` replaces the built-in list (tests that play a newer release).
 */
export async function migrate(
  db: Database,
  schema: string,
  options: { to?: number; migrations?: readonly Migration[] } = {},
): Promise<number[]> {
  assertSchemaName(schema);
  const migrations = options.migrations ?? MIGRATIONS;
  const latest = migrations[migrations.length - 1]?.id ?? 0;
  const to = options.to ?? latest;
  const applied: number[] = [];
  for (;;) {
    const next = await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`tasker-migrate:${schema}`]);
      await tx.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
      await tx.query(
        `CREATE TABLE IF NOT EXISTS ${quoteIdent(schema)}.migrations (
           id integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
      );
      const version = await currentVersion(tx, schema);
      if (version > latest) {
        throw new TaskerError(
          'TASKER_MIGRATION_FAILED',
          `schema ${schema} is at migration ${version}, newer than this version of Tasker knows (${latest}); upgrade Tasker`,
        );
      }
      const migration = version < to ? migrations.find((m) => m.id === version + 1) : undefined;
      if (!migration) return null;
      // Record first: a concurrent starter that somehow got past the lock fails on the primary key.
      await tx.query(`INSERT INTO ${quoteIdent(schema)}.migrations (id, name) VALUES ($1, $2)`, [
        migration.id,
        migration.name,
      ]);
      try {
        await tx.exec(renderMigrationSql(migration.sql, schema));
      } catch (error) {
        throw new TaskerError(
          'TASKER_MIGRATION_FAILED',
          `migration ${migration.id} (${migration.name}) failed: ${(error as Error).message}`,
          { cause: error },
        );
      }
      return migration.id;
    });
    if (next === null) return applied;
    applied.push(next);
  }
}
