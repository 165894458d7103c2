// database.listenUrl: where LISTEN connects when queries go through a transaction-mode pooler.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { resolveConfig } from '../../src/config/options.js';
import { isTaskerError } from '../../src/errors.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function project(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'tasker-config-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

async function problemsOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    if (isTaskerError(error, 'TASKER_INVALID_CONFIG')) return error.details;
    throw error;
  }
  throw new Error('expected TASKER_INVALID_CONFIG');
}

describe('database.listenUrl', () => {
  it('comes from the file, and TASKER_DATABASE_LISTEN_URL wins over it', async () => {
    const cwd = project({
      'tasker.config.yaml':
        'database:\n  url: postgres://pooler:6432/app\n  listenUrl: postgres://db-file:5432/app\n',
    });
    const fromFile = await loadConfig({ cwd, env: {} });
    expect(fromFile.database.listenUrl).toBe('postgres://db-file:5432/app');
    expect(fromFile.taskerOptions.database).toMatchObject({
      url: 'postgres://pooler:6432/app',
      listenUrl: 'postgres://db-file:5432/app',
    });
    const fromEnv = await loadConfig({
      cwd,
      env: { TASKER_DATABASE_LISTEN_URL: 'postgres://db-env:5432/app' },
    });
    expect(fromEnv.database.listenUrl).toBe('postgres://db-env:5432/app');
  });

  it('is unset by default: LISTEN uses the database URL', () => {
    expect(resolveConfig({ database: { url: 'postgres://db/app' } }, {}).database.listenUrl).toBeNull();
    expect(
      resolveConfig(
        {},
        { DATABASE_URL: 'postgres://pooler/app', TASKER_DATABASE_LISTEN_URL: 'postgres://db/app' },
      ).database,
    ).toMatchObject({ url: 'postgres://pooler/app', listenUrl: 'postgres://db/app' });
  });

  it('is refused when it is not a PostgreSQL URL, or beside the embedded database', async () => {
    const notUrl = await problemsOf(
      loadConfig({
        cwd: project(),
        env: { DATABASE_URL: 'postgres://db/app', TASKER_DATABASE_LISTEN_URL: 'db:5432' },
      }),
    );
    expect(notUrl).toEqual([
      {
        path: 'database.listenUrl (from TASKER_DATABASE_LISTEN_URL)',
        message: expect.stringContaining('expected a PostgreSQL URL'),
      },
    ]);
    const embedded = await problemsOf(
      loadConfig({ cwd: project(), env: { TASKER_DATABASE_LISTEN_URL: 'postgres://db/app' } }),
    );
    expect(embedded).toEqual([
      { path: 'database.listenUrl', message: expect.stringContaining('the database is the embedded PGlite') },
    ]);
  });
});
