// `npm start` builds only when a source changed: with a build stamp newer than every source, the script
// exits at once without building (dist is left as it is). The stale path runs the ordinary `npm run build`.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');
const STAMP = join(ROOT, 'dist', '.build-stamp');

test.skipIf(!existsSync(join(ROOT, 'dist/index.js')))('an up-to-date build is not rebuilt', () => {
  if (!existsSync(STAMP)) writeFileSync(STAMP, 'test\n');
  const future = new Date(Date.now() + 3600_000);
  utimesSync(STAMP, future, future);
  const before = statSync(join(ROOT, 'dist/index.js')).mtimeMs;
  const result = spawnSync(process.execPath, [join(ROOT, 'scripts/build-if-stale.mjs')], {
    encoding: 'utf8',
  });
  expect(result.status).toBe(0);
  expect(result.stdout + result.stderr).toBe('');
  expect(statSync(join(ROOT, 'dist/index.js')).mtimeMs).toBe(before);
  // Back to now, so that a later source change is seen as newer than the stamp.
  const now = new Date();
  utimesSync(STAMP, now, now);
});
