/**
 * `npm start` as a user runs it: the built main job in a child process, on embedded PGlite in a fresh
 * data directory, its output piped (not a TTY, so progress comes as plain lines).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, test } from 'vitest';

const run = promisify(execFile);
const MAIN = fileURLToPath(new URL('../../dist/examples/main.js', import.meta.url));
const describeBuilt = existsSync(MAIN) ? describe : describe.skip;

describeBuilt('the main job (node dist/examples/main.js)', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  test('runs every example task to completion on a fresh embedded database', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tasker-main-'));
    dirs.push(dataDir);
    const env: NodeJS.ProcessEnv = { ...process.env, TASKER_DATA_DIR: dataDir };
    delete env.DATABASE_URL;
    const { stdout } = await run(process.execPath, [MAIN], { env, timeout: 170_000 });

    expect(stdout).toContain(`embedded PGlite in ${dataDir}`);
    const created = /Created (\d+) tasks: (.*)/.exec(stdout);
    expect(created).not.toBeNull();
    const ids = [...created![2]!.matchAll(/#(\d+) ([a-z_]+\/[a-z_]+)/g)].map((m) => ({
      id: m[1],
      name: m[2],
    }));
    expect(ids.map((t) => t.name).sort()).toEqual([
      'ecommerce/order_processing',
      'ecommerce/order_processing',
      'examples/diamond',
    ]);
    for (const { id, name } of ids)
      expect(stdout).toMatch(new RegExp(`Task ${id} ${name}@1\\.0\\.0: complete`));
    // The retry is visible: live, and in the audit trail.
    expect(stdout).toMatch(/check_inventory in_progress -> waiting_for_retry .*RetryableError/);
    expect(stdout).toMatch(/step check_inventory: waiting_for_retry -> in_progress \(attempt 2\)/);
    expect(stdout).toContain('"sum":63');
    expect(stdout).toContain(`All ${ids.length} example tasks complete.`);
    expect(existsSync(join(dataDir, 'PG_VERSION'))).toBe(true);
  }, 180_000); // creating a fresh embedded database takes a while on a loaded machine
});
