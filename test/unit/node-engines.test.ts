// Installing on the oldest Node this package supports (engines.node in package.json) must not print
// EBADENGINE: every package the lock file installs must accept that Node version.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import semver from 'semver';
import { expect, test } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');

test('every installed package accepts the oldest Node version package.json supports', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };
  const oldest = semver.minVersion(pkg.engines.node)!.version;
  expect(oldest).toBe('20.19.0');
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<
      string,
      { version?: string; engines?: { node?: string } | string[]; optional?: boolean }
    >;
  };
  const refused = Object.entries(lock.packages)
    .filter(
      ([path, p]) => path !== '' && !p.optional && p.engines && !Array.isArray(p.engines) && p.engines.node,
    )
    .filter(([, p]) => !semver.satisfies(oldest, (p.engines as { node: string }).node))
    .map(
      ([path, p]) =>
        `${path.replace(/^.*node_modules\//, '')}@${p.version} needs node ${(p.engines as { node: string }).node}`,
    );
  expect(refused).toEqual([]);
});
