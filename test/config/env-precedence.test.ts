/**
 * Environment over file, for every setting (docs/cli.md): each variable beats the file's value, and a
 * database location from the environment replaces the file's whole (a `tasker init` project's file sets
 * `database.dataDir`; DATABASE_URL must still switch it to PostgreSQL).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ENV_VARIABLES } from '../../src/config/env-config.js';
import { loadConfig } from '../../src/config/load-config.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function project(config: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'tasker-env-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'tasker.config.json'), JSON.stringify(config));
  return dir;
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    node[key] ??= {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys.at(-1)!] = value;
}

function getPath(source: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown>)?.[key], source);
}

/** Per config path: the file's value, the variable's text, and what the loaded config then holds. */
function samples(cwd: string): Record<string, [unknown, string, unknown]> {
  return {
    'database.url': [
      'postgres://file.example/app',
      'postgres://env.example/app',
      'postgres://env.example/app',
    ],
    'database.listenUrl': [
      'postgres://file.example/direct',
      'postgres://env.example/direct',
      'postgres://env.example/direct',
    ],
    'database.dataDir': ['./file-data', 'env-data', join(cwd, 'env-data')],
    'database.schema': ['from_file', 'from_env', 'from_env'],
    'database.maxConnections': [3, '7', 7],
    'database.migrate': [true, 'false', false],
    'database.connectTimeoutMs': [5000, '9000', 9000],
    'execution.concurrency': [3, '7', 7],
    'execution.prefetch': [3, '7', 7],
    'execution.leaseMs': [20_000, '40000', 40_000],
    'execution.heartbeatIntervalMs': [2000, '3000', 3000],
    'execution.pollIntervalMs': [300, '700', 700],
    'execution.shutdownTimeoutMs': [300, '700', 700],
    'identity.strategy': ['unique', 'hash', 'hash'],
    'telemetry.enabled': [true, 'false', false],
    'telemetry.logLevel': ['info', 'debug', 'debug'],
    'telemetry.pretty': [false, 'true', true],
    'telemetry.serviceName': ['file-service', 'env-service', 'env-service'],
    'telemetry.otlpEndpoint': [
      'http://file.example:4318',
      'http://env.example:4318',
      'http://env.example:4318',
    ],
    'auth.enabled': [false, 'true', true],
    'auth.jwt.secret': ['f'.repeat(32), 'e'.repeat(32), 'e'.repeat(32)],
    'auth.jwt.jwksUrl': ['http://file.example/jwks', 'http://env.example/jwks', 'http://env.example/jwks'],
    'auth.jwt.issuer': ['file-issuer', 'env-issuer', 'env-issuer'],
    'auth.jwt.audience': ['file-audience', 'env-audience', 'env-audience'],
    'auth.permissionsClaim': ['file_claim', 'env_claim', 'env_claim'],
    'health.readyTimeoutMs': [3000, '4000', 4000],
    'health.statusRequiresAuth': [true, 'false', false],
    'api.port': [3001, '4001', 4001],
    'api.host': ['127.0.0.2', '127.0.0.3', '127.0.0.3'],
    'api.prefix': ['/file', '/env', '/env'],
    'api.bodyLimit': [1000, '2000', 2000],
    'api.publicDocs': [false, 'true', true],
    'workflows.templatesDir': ['./file-templates', './env-templates', join(cwd, 'env-templates')],
    'workflows.handlersDir': ['./file-handlers', './env-handlers', join(cwd, 'env-handlers')],
    'workflows.environment': ['staging', 'production', 'production'],
  };
}

describe('environment variables win over the config file', () => {
  it.each(ENV_VARIABLES.map(([name, path]) => [name, path]))(
    '%s beats the file at %s',
    async (name, path) => {
      const probe = samples('');
      expect(probe[path], `no sample for ${path}: add one to this test`).toBeDefined();
      const file: Record<string, unknown> = {};
      const cwd = mkdtempSync(join(tmpdir(), 'tasker-env-'));
      dirs.push(cwd);
      const [fileValue, envText, expected] = samples(cwd)[path]!;
      setPath(file, path, fileValue);
      // Companions the sample needs to be valid on its own: a secret for auth, jwksUrl excludes secret.
      if (path === 'auth.enabled') setPath(file, 'auth.jwt.secret', 's'.repeat(32));
      // A listening URL goes with a PostgreSQL URL (the embedded database has no use for one).
      if (path === 'database.listenUrl') setPath(file, 'database.url', 'postgres://file.example/app');
      writeFileSync(join(cwd, 'tasker.config.json'), JSON.stringify(file));
      const fromFile = await loadConfig({ cwd, env: {} });
      expect(getPath(fromFile, path)).not.toEqual(expected);
      const config = await loadConfig({ cwd, env: { [name]: envText } });
      expect(getPath(config, path)).toEqual(expected);
    },
  );

  it("DATABASE_URL beats a scaffolded project's dataDir (the file `tasker init` writes)", async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'tasker-env-'));
    dirs.push(cwd);
    const scaffolded = join(import.meta.dirname, '../../scaffold/project/tasker.config.yaml');
    writeFileSync(join(cwd, 'tasker.config.yaml'), readFileSync(scaffolded, 'utf8'));
    const embedded = await loadConfig({ cwd, env: {} });
    expect(embedded.database).toMatchObject({ url: null, dataDir: join(cwd, '.tasker') });

    for (const name of ['DATABASE_URL', 'TASKER_DATABASE_URL']) {
      const config = await loadConfig({
        cwd,
        env: { [name]: 'postgres://tasker:secret@db.internal:5432/app' },
      });
      expect(config.database).toMatchObject({
        url: 'postgres://tasker:secret@db.internal:5432/app',
        dataDir: null,
      });
      expect(config.taskerOptions.database).toMatchObject({
        url: 'postgres://tasker:secret@db.internal:5432/app',
      });
      expect(config.taskerOptions.database).not.toHaveProperty('dataDir');
    }
  });

  it("TASKER_DATA_DIR beats a file's url, and is relative to the working directory", async () => {
    const cwd = project({ database: { url: 'postgres://file.example/app', schema: 'kept' } });
    const config = await loadConfig({ cwd, env: { TASKER_DATA_DIR: 'here' } });
    expect(config.database).toMatchObject({ url: null, dataDir: join(cwd, 'here'), schema: 'kept' });
    expect(config.taskerOptions.database).toMatchObject({ dataDir: join(cwd, 'here'), schema: 'kept' });
    expect(config.taskerOptions.database).not.toHaveProperty('url');
  });

  it("an environment location replaces a file's inMemory too, and DATABASE_URL wins over TASKER_DATA_DIR", async () => {
    const cwd = project({ database: { inMemory: true } });
    expect((await loadConfig({ cwd, env: { TASKER_DATA_DIR: '/tmp/x' } })).database.dataDir).toBe('/tmp/x');
    const both = await loadConfig({
      cwd,
      env: { TASKER_DATA_DIR: '/tmp/x', DATABASE_URL: 'postgres://h/db' },
    });
    expect(both.database).toMatchObject({ url: 'postgres://h/db', dataDir: null });
  });
});
