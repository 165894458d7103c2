// `tasker init` produces a project whose three example workflows run to completion against the stand-in
// API they start themselves (npm run examples = node scripts/run-examples.mjs), with no network; with
// --code the same workflows are typed TypeScript modules, and the project type-checks.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { cli, REPO, tempProject } from './cli-helpers.js';

function runIn(cwd: string, command: string, args: string[]) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function expectAllComplete(result: { code: number | null; stdout: string; stderr: string }) {
  expect(result.code, result.stderr).toBe(0);
  expect(result.stdout).toContain('ecommerce/order_processing@1.0.1: complete');
  expect(result.stdout).toContain('inventory/stock_management@1.0.0: complete');
  expect(result.stdout).toContain('customer/user_onboarding@1.0.0: complete');
}

it('the scaffolded examples run to completion on their own', { timeout: 300_000 }, async () => {
  const dir = tempProject();
  expect((await cli(['init', 'app'], dir)).code).toBe(0);
  // tempProject links node_modules/tasker-ts in `dir`; Node finds it from app/ by walking up.
  expectAllComplete(await runIn(join(dir, 'app'), process.execPath, ['scripts/run-examples.mjs']));
});

it('init --code writes typed TypeScript workflows that type-check and run', {
  timeout: 300_000,
}, async () => {
  const dir = tempProject();
  // What `npm install` would bring: zod for the schemas, vitest and Node's types for `tsc`.
  for (const pkg of ['zod', 'vitest', '@types']) {
    symlinkSync(join(REPO, 'node_modules', pkg), join(dir, 'node_modules', pkg), 'dir');
  }
  const init = await cli(['init', '--code', 'app'], dir);
  expect(init.code, init.stderr).toBe(0);
  const app = join(dir, 'app');
  expect(existsSync(join(app, 'templates'))).toBe(false);
  expect(existsSync(join(app, 'handlers'))).toBe(false);
  expect(readdirSync(join(app, 'workflows')).sort()).toEqual([
    '_http.ts',
    'order_processing.ts',
    'stock_management.ts',
    'user_onboarding.ts',
  ]);
  const pkg = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8'));
  expect(pkg.dependencies.zod).toMatch(/^\^4\./);
  expect(pkg.scripts.typecheck).toBe('tsc -p .');
  expect(init.stdout).toContain('npm run typecheck');

  const typecheck = await runIn(app, process.execPath, [
    join(REPO, 'node_modules/typescript/bin/tsc'),
    '-p',
    '.',
  ]);
  expect(typecheck.code, typecheck.stdout + typecheck.stderr).toBe(0);
  expectAllComplete(await runIn(app, process.execPath, ['scripts/run-examples.mjs']));
  const validate = await cli(['validate'], app);
  expect(validate.code, validate.stderr).toBe(0);
});
