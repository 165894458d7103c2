/**
 * Ordinary operational errors, as a user meets them with the built CLI: a missing database, a user the
 * server refuses, a malformed database URL and a port in use each exit with their documented code and say
 * what is wrong and the fix, without a stack trace unless --debug.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { describe, expect, test } from 'vitest';
import { startServer } from '../../src/api/index.js';
import { isTaskerError } from '../../src/index.js';
import { PG_URL, testTasker } from '../helpers.js';
import { cli, databaseEnv, tempProject } from './cli-helpers.js';

const describePg = PG_URL ? describe : describe.skip;
const STACK = /^\s+at /m;

/** PG_URL with another database name or user. */
function withUrl(change: (url: URL) => void): string {
  const url = new URL(PG_URL!);
  change(url);
  return url.toString();
}

/** A project whose worker has something to serve. */
const PROJECT = {
  'tasker.config.yaml': 'workflows:\n  templatesDir: ./templates\n  handlersDir: ./handlers\n',
  'templates/hello.yaml':
    'name: hello\nnamespace_name: demo\nversion: 1.0.0\nstep_templates:\n  - name: greet\n    handler: greet\n',
  'handlers/demo.ts': 'export function greet() {\n  return { hello: true };\n}\n',
};

/** stderr without JSON log lines. */
const plain = (stderr: string) =>
  stderr.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('{'));

describePg('a database the server does not have, or a user it refuses (PostgreSQL)', () => {
  const missing = `tasker_missing_${randomBytes(4).toString('hex')}`;
  const host = new URL(PG_URL ?? 'postgres://x@127.0.0.1:5432/x');

  test('a missing database: exit 6 at once with the createdb to run, for list and worker alike', async () => {
    const dir = tempProject(PROJECT);
    const env = { DATABASE_URL: withUrl((u) => (u.pathname = `/${missing}`)) };
    const [listed, worker] = await Promise.all([cli(['list'], dir, env), cli(['worker'], dir, env)]);
    for (const result of [listed, worker]) {
      expect(result.code, result.stderr).toBe(6);
      expect(plain(result.stderr)).toEqual([
        `error: database "${missing}" does not exist on ${host.hostname}:${host.port || 5432}: create it ` +
          `(createdb -h ${host.hostname} -p ${host.port || 5432} -U ${decodeURIComponent(host.username)} ${missing}) or correct database.url`,
      ]);
      expect(result.stderr).not.toMatch(STACK);
      // Not waited for: no "waiting for the database" line.
      expect(result.stderr).not.toContain('waiting for the database');
    }

    const debug = await cli(['list', '--debug'], dir, env);
    expect(debug.code).toBe(6);
    expect(debug.stderr).toMatch(STACK);

    // doctor reports it as a failed check instead.
    const doctor = await cli(['doctor'], dir, env);
    expect(doctor.code).toBe(1);
    expect(doctor.stdout).toContain(`database "${missing}" does not exist`);
  });

  test('a user the server does not know: exit 6 naming the fix', async () => {
    const dir = tempProject();
    const user = `tasker_nobody_${randomBytes(4).toString('hex')}`;
    const result = await cli(['status', '1'], dir, {
      DATABASE_URL: withUrl((u) => {
        u.username = user;
        u.password = 'pw';
      }),
    });
    expect(result.code, result.stderr).toBe(6);
    const lines = plain(result.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^error: the database at \S+ refused the connection \(.*\): check the user and password in database\.url/,
    );
    expect(lines[0]).toContain(user);
    expect(result.stderr).not.toMatch(STACK);
  });
});

describe('a malformed database URL and a port in use', () => {
  test('a malformed DATABASE_URL is a configuration error (exit 3) naming the expected form', async () => {
    const dir = tempProject();
    for (const url of ['localhost:5432/app', 'postgres://app:p#ss@db.example/app']) {
      const result = await cli(['list'], dir, { DATABASE_URL: url });
      expect(result.code, result.stderr).toBe(3);
      expect(result.stderr).toContain('database.url: invalid database URL: ');
      expect(result.stderr).toContain('postgres://user:password@host:5432/database');
      expect(result.stderr).not.toMatch(STACK);
      // The URL itself (it may hold a password) is not repeated.
      expect(result.stderr).not.toContain(url);
    }
  });

  test('serve on a port in use: exit 3 before anything starts, one line with the fix', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as { port: number };
    try {
      const dir = tempProject(PROJECT);
      const result = await cli(['serve', '--port', String(port)], dir, databaseEnv('pglite', dir));
      expect(result.code, result.stderr).toBe(3);
      expect(plain(result.stderr)).toEqual([
        `error: cannot listen on 127.0.0.1:${port}: the port is in use by another process: stop it or choose another port with --port, api.port or PORT (0 picks a free one)`,
      ]);
      expect(result.stderr).not.toContain('worker');

      // The library's startServer says the same, with the listen error as the cause (npm start uses it).
      const { tasker } = await testTasker('pglite');
      const error = await startServer({ tasker, port }).catch((e: unknown) => e);
      expect(isTaskerError(error, 'TASKER_INVALID_CONFIG'), String(error)).toBe(true);
      expect((error as Error).message).toBe(plain(result.stderr)[0]!.replace(/^error: /, ''));
      expect(((error as Error).cause as NodeJS.ErrnoException).code).toBe('EADDRINUSE');
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });
});
