/**
 * src/db/migrations.generated.ts is what the engine runs; it must be what scripts/build-migrations.mjs
 * makes of src/db/migrations/*.sql today (run `node scripts/build-migrations.mjs` after editing a migration).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';

const root = join(import.meta.dirname, '..', '..');

test('the generated migrations module is up to date with the .sql files', async () => {
  const script = join(root, 'scripts', 'build-migrations.mjs');
  const { renderMigrationsModule } = (await import(script)) as { renderMigrationsModule: () => string };
  const generated = readFileSync(join(root, 'src', 'db', 'migrations.generated.ts'), 'utf8');
  const expected = renderMigrationsModule();
  expect(expected).toContain('{ id: 1, name: "schema"');
  expect(generated === expected, 'stale: run node scripts/build-migrations.mjs').toBe(true);
});
