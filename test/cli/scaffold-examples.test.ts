// `tasker init` produces a project whose three example workflows run to completion against the stand-in
// API they start themselves (npm run examples = node scripts/run-examples.mjs), with no network.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { cli, tempProject } from './cli-helpers.js';

it('the scaffolded examples run to completion on their own', { timeout: 300_000 }, async () => {
  const dir = tempProject();
  expect((await cli(['init', 'app'], dir)).code).toBe(0);
  const app = join(dir, 'app');
  // tempProject links node_modules/tasker-ts in `dir`; Node finds it from app/ by walking up.
  const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ['scripts/run-examples.mjs'], {
      cwd: app,
      env: { ...process.env, NO_COLOR: '1' },
    });
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
  expect(result.code, result.stderr).toBe(0);
  expect(result.stdout).toContain('ecommerce/order_processing@1.0.1: complete');
  expect(result.stdout).toContain('inventory/stock_management@1.0.0: complete');
  expect(result.stdout).toContain('customer/user_onboarding@1.0.0: complete');
});
