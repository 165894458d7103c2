/** What every query module needs: the database and the (quoted) schema its objects live in. */
import type { Database } from '../../db/database.js';
import { quoteIdent } from '../../db/database.js';

export interface SqlContext {
  readonly db: Database;
  /** The schema, quoted for SQL text: `"tasker"`. */
  readonly schema: string;
  /** NOTIFY channels of this schema. */
  readonly channels: {
    readonly ready: string;
    readonly task: string;
    readonly step: string;
    readonly cancel: string;
  };
}

export function createSqlContext(db: Database, schemaName: string): SqlContext {
  return {
    db,
    schema: quoteIdent(schemaName),
    channels: {
      ready: `${schemaName}:ready`,
      task: `${schemaName}:task`,
      step: `${schemaName}:step`,
      cancel: `${schemaName}:cancel`,
    },
  };
}
