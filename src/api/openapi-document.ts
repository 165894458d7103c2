/**
 * The server's OpenAPI document without a running server: the API's routes registered on an in-process
 * instance over an embedded, in-memory database (the document depends on the route schemas only).
 * Used to generate the client's types (scripts/build-api-types.mjs) and to check they are current.
 */
import { createPgliteDatabase } from '../db/pglite-database.js';
import { createTasker } from '../tasker.js';
import { createApiServer } from './server.js';

export async function openApiDocument(): Promise<Record<string, unknown>> {
  const database = await createPgliteDatabase();
  const quiet = { debug() {}, info() {}, warn() {}, error() {} };
  const tasker = await createTasker({ logger: quiet }, { database });
  try {
    const app = await createApiServer({ tasker });
    try {
      return (await app.inject({ url: '/tasker/openapi.json' })).json() as Record<string, unknown>;
    } finally {
      await app.close();
    }
  } finally {
    await tasker.close();
    await database.close();
  }
}
