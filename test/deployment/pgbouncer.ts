/**
 * A real PgBouncer (Debian's package; .ci/run installs it) started by a test on a free port, in front of
 * the test PostgreSQL server. It starts no daemon of its own: each test run starts one from a temporary
 * directory and stops it afterwards.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export const PGBOUNCER = '/usr/sbin/pgbouncer';
export const PGBOUNCER_INSTALLED = existsSync(PGBOUNCER);

export interface PgBouncer {
  /** `serverUrl` with host and port replaced by PgBouncer's. */
  readonly url: string;
  /** Runs an admin console command (SHOW STATS, SHOW POOLS, ...) and returns its rows. */
  admin(command: string): Promise<Record<string, unknown>[]>;
  /** Everything PgBouncer logged (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

/** A port that was free a moment ago. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitUntilListening(child: ChildProcess, output: () => string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const check = () => {
      if (/listening on 127\.0\.0\.1/.test(output())) {
        cleanup();
        resolve();
      }
    };
    const exited = (code: number | null) => {
      cleanup();
      reject(new Error(`pgbouncer exited (${code}) before listening:\n${output()}`));
    };
    const cleanup = () => {
      child.stderr?.off('data', check);
      child.off('exit', exited);
    };
    child.stderr?.on('data', check);
    child.on('exit', exited);
    check();
  });
}

/**
 * Starts PgBouncer in `poolMode` in front of the server `serverUrl` names (trust authentication for its
 * user). `poolSize` server connections per database/user pair: fewer than the clients, so that clients'
 * transactions really do move between server connections.
 */
export async function startPgBouncer(
  serverUrl: string,
  options: { poolMode?: 'session' | 'transaction' | 'statement'; poolSize?: number } = {},
): Promise<PgBouncer> {
  const server = new URL(serverUrl);
  const user = decodeURIComponent(server.username || 'postgres');
  const dir = mkdtempSync(join(tmpdir(), 'tasker-pgbouncer-'));
  // PgBouncer refuses to run as root; as root it is started with -u postgres, which must read these.
  chmodSync(dir, 0o755);
  const ini = join(dir, 'pgbouncer.ini');
  const users = join(dir, 'users.txt');
  writeFileSync(users, `"${user}" ""\n`, { mode: 0o644 });
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    writeFileSync(
      ini,
      [
        '[databases]',
        `* = host=${server.hostname} port=${server.port || 5432}`,
        '[pgbouncer]',
        'listen_addr = 127.0.0.1',
        `listen_port = ${port}`,
        'unix_socket_dir =',
        'auth_type = trust',
        `auth_file = ${users}`,
        `admin_users = ${user}`,
        `pool_mode = ${options.poolMode ?? 'transaction'}`,
        `default_pool_size = ${options.poolSize ?? 2}`,
        'max_client_conn = 500',
        'logfile =',
        'pidfile =',
        '',
      ].join('\n'),
      { mode: 0o644 },
    );
    const asRoot = process.getuid?.() === 0;
    const child = spawn(PGBOUNCER, [...(asRoot ? ['-u', 'postgres'] : []), ini], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => {
      output += d;
    });
    child.stderr.on('data', (d) => {
      output += d;
    });
    try {
      await waitUntilListening(child, () => output);
    } catch (error) {
      // Another process took the port between our check and PgBouncer's bind: try another one.
      if (attempt < 3 && /Address already in use/.test(output)) continue;
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
    const url = new URL(serverUrl);
    url.hostname = '127.0.0.1';
    url.port = String(port);
    return {
      url: url.toString(),
      async admin(command) {
        const client = new pg.Client({ host: '127.0.0.1', port, user, database: 'pgbouncer' });
        await client.connect();
        try {
          return (await client.query(command)).rows;
        } finally {
          await client.end();
        }
      },
      log: () => output,
      async stop() {
        if (child.exitCode === null && child.signalCode === null) {
          const exited = new Promise((resolve) => child.once('exit', resolve));
          child.kill('SIGTERM');
          await exited;
        }
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
}
