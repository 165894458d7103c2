/**
 * `tasker db export`: the embedded database's Tasker schema as SQL that a PostgreSQL server (15 or
 * newer) loads with `psql -f dump.sql`: pg_dump compiled to WebAssembly (@electric-sql/pglite-tools),
 * run on this process's PGlite, then cleaned of what only PGlite or a newer server understands.
 */
import type { PGlite } from '@electric-sql/pglite';
import { pgDump } from '@electric-sql/pglite-tools/pg_dump';
import type { SessionGate } from './session-gate.js';

/**
 * Lines of a PGlite dump that a PostgreSQL server refuses:
 * - `ALTER TABLE ONLY t ALTER COLUMN c SET (pg_attver=...)`: a column option only PGlite has;
 * - `SET transaction_timeout = 0`: a setting PostgreSQL 17 introduced (pg_dump 18 writes it).
 * Removing them changes nothing in what is restored.
 */
const UNPORTABLE_LINES = [
  /^ALTER TABLE ONLY .+ ALTER COLUMN .+ SET \(pg_attver=\d+\);\r?\n/gm,
  /^SET transaction_timeout = 0;\r?\n/gm,
];

/** Makes a PGlite dump loadable by PostgreSQL 15+. Pure. */
export function portableDump(dump: string): string {
  return UNPORTABLE_LINES.reduce((text, pattern) => text.replace(pattern, ''), dump);
}

/**
 * Dumps one schema (tables with their rows, sequences, functions, triggers, views). pg_dump runs on the
 * session with its own settings and transaction, so it holds the session for the whole dump: no other
 * statement (of this process or of a client) runs inside it.
 */
export async function exportSchemaSql(pglite: PGlite, gate: SessionGate, schema: string): Promise<string> {
  const release = await gate.exclusive();
  try {
    const file = await pgDump({
      pg: pglite,
      // Quoted: a pg_dump pattern would otherwise lower-case the name.
      args: [
        `--schema="${schema.replaceAll('"', '""')}"`,
        '--no-owner',
        '--no-privileges',
        '--quote-all-identifiers',
      ],
    });
    const header = [
      `-- Tasker: the embedded database's schema ${JSON.stringify(schema)}, exported by \`tasker db export\`.`,
      '-- Load it into an empty PostgreSQL database (15 or newer): psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -f dump.sql',
      '',
    ].join('\n');
    return header + portableDump(await file.text());
  } finally {
    release();
  }
}
