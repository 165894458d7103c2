import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { isTaskerError, type TaskerError } from '../../src/errors.js';

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

async function configError(promise: Promise<unknown>): Promise<TaskerError> {
  try {
    await promise;
  } catch (error) {
    if (isTaskerError(error, 'TASKER_INVALID_CONFIG')) return error;
    throw error;
  }
  throw new Error('expected TASKER_INVALID_CONFIG');
}

describe('loadConfig', () => {
  it('needs no file: defaults run on the embedded database', async () => {
    const cwd = project();
    const config = await loadConfig({ cwd, env: {} });
    expect(config.file).toBeNull();
    expect(config.database.url).toBeNull();
    expect(config.database.dataDir).toBe(join(cwd, '.tasker'));
    expect(config.database.schema).toBe('tasker');
    expect(config.execution.concurrency).toBe(10);
    expect(config.api).toEqual({
      port: 3000,
      host: '127.0.0.1',
      prefix: '/tasker',
      bodyLimit: 1_048_576,
      publicDocs: false,
      requestTimeoutMs: 60_000,
      maxHeaderSize: 16_384,
      graphql: { maxDepth: 8, maxAliases: 15, maxComplexity: 5000, maxLimit: 100 },
    });
    expect(config.auth.enabled).toBe(false);
    expect(config.health).toEqual({ readyTimeoutMs: 5000, statusRequiresAuth: true });
    expect(config.telemetry.serviceName).toBe('tasker');
    expect(config.workflows.templatesDir).toBe(join(cwd, 'templates'));
    expect(config.workflows.handlersDir).toBeNull();
    expect(config.taskerOptions.database).toMatchObject({ dataDir: join(cwd, '.tasker'), schema: 'tasker' });
  });

  it.each([
    ['tasker.config.json', JSON.stringify({ execution: { concurrency: 4 }, api: { port: 8080 } })],
    ['tasker.config.yaml', 'execution:\n  concurrency: 4\napi:\n  port: 8080\n'],
    ['tasker.config.mjs', 'export default { execution: { concurrency: 4 }, api: { port: 8080 } };'],
    [
      'tasker.config.ts',
      'const port: number = 8080;\nexport default { execution: { concurrency: 4 }, api: { port } };',
    ],
  ])('reads %s', async (name, text) => {
    const cwd = project({ [name]: text });
    const config = await loadConfig({ cwd, env: {} });
    expect(config.file).toBe(join(cwd, name));
    expect(config.execution.concurrency).toBe(4);
    expect(config.api.port).toBe(8080);
  });

  it('lets environment variables override the file and resolves paths against the file', async () => {
    const cwd = project({
      'tasker.config.yaml':
        'database:\n  schema: from_file\nworkflows:\n  templatesDir: flows\n  handlersDir: code\n',
    });
    const config = await loadConfig({
      cwd,
      env: {
        DATABASE_URL: 'postgres://db.example/app',
        TASKER_DATABASE_SCHEMA: 'from_env',
        TASKER_CONCURRENCY: '25',
        TASKER_AUTH_ENABLED: 'true',
        TASKER_JWT_SECRET: 'x'.repeat(32),
        PORT: '4000',
        TASKER_ENV: 'production',
      },
    });
    expect(config.database.url).toBe('postgres://db.example/app');
    expect(config.database.schema).toBe('from_env');
    expect(config.execution.concurrency).toBe(25);
    expect(config.auth).toMatchObject({ enabled: true, jwt: { secret: 'x'.repeat(32) } });
    expect(config.api.port).toBe(4000);
    expect(config.workflows).toEqual({
      templatesDir: join(cwd, 'flows'),
      handlersDir: join(cwd, 'code'),
      environment: 'production',
    });
    expect(config.taskerOptions.database).toMatchObject({
      url: 'postgres://db.example/app',
      schema: 'from_env',
    });
  });

  it('lists every problem in the file and the environment at once', async () => {
    const cwd = project({
      'tasker.config.json': JSON.stringify({
        execution: { concurrency: 0, leeseMs: 5 },
        api: { prefix: 'tasker/' },
        telemetry: { logLevel: 'loud' },
        auth: { enabled: true },
      }),
    });
    const error = await configError(
      loadConfig({
        cwd,
        env: { TASKER_LEASE_MS: 'soon', TASKER_LOG_PRETTY: 'maybe', TASKER_API_PORT: '70000' },
      }),
    );
    const paths = error.details!.map((p) => p.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'env TASKER_LEASE_MS',
        'env TASKER_LOG_PRETTY',
        'api.port (from TASKER_API_PORT)',
        expect.stringMatching(/^execution\.concurrency \(in .*tasker\.config\.json\)$/),
        expect.stringMatching(/^execution \(in /),
        expect.stringMatching(/^api\.prefix /),
        expect.stringMatching(/^telemetry\.logLevel /),
      ]),
    );
    expect(error.message).toContain('unknown key(s) "leeseMs"');
    expect(error.message).toContain('expected a whole number, got "soon"');
  });

  it('checks the rules between options: auth needs a key, the heartbeat fits in the lease', async () => {
    const cwd = project({
      'tasker.config.json': JSON.stringify({
        auth: { enabled: true },
        execution: { leaseMs: 3000, heartbeatIntervalMs: 2000 },
      }),
    });
    const error = await configError(loadConfig({ cwd, env: {} }));
    expect(error.details!.map((p) => p.path)).toEqual(['auth.jwt', 'execution.heartbeatIntervalMs']);
  });

  it('reports a config file that cannot be parsed or does not exist', async () => {
    const cwd = project({ 'tasker.config.json': '{ nope' });
    const broken = await configError(loadConfig({ cwd, env: {} }));
    expect(broken.details![0]!.path).toBe(join(cwd, 'tasker.config.json'));
    expect(broken.details![0]!.message).toContain('cannot be read');
    const missing = await configError(loadConfig({ cwd, env: { TASKER_CONFIG: 'other.yaml' } }));
    expect(missing.details![0]).toEqual({ path: join(cwd, 'other.yaml'), message: 'config file not found' });
  });
});
