// The CLI's commands that need no database: help, usage errors, validate, init and generate.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, json, tempProject } from './cli-helpers.js';

const BROKEN = `
name: broken
step_templates:
  - name: a
    handler: nowhere
  - name: b
    depends_on_steps: [a, c]
    handler: http
  - name: c
    depends_on_step: b
    handler: http
    handler_config: { url: 'http://127.0.0.1:1/' }
`;

describe('the tasker command without a database', { timeout: 240_000 }, () => {
  it('shows help with examples and exit codes, and exits 2 on a usage error', async () => {
    const dir = tempProject();
    const help = await cli(['--help'], dir);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Examples:');
    expect(help.stdout).toContain('Exit codes:');
    const runHelp = await cli(['run', '--help'], dir);
    expect(runHelp.code).toBe(0);
    expect(runHelp.stdout).toContain('--no-worker');
    expect((await cli(['frobnicate'], dir)).code).toBe(2);
    expect((await cli(['status', 'abc'], dir)).code).toBe(2);
    const badJson = await cli(['run', 'a/b', '--context', '{nope'], dir);
    expect(badJson.code).toBe(2);
    expect(badJson.stderr).toContain('--context: expected JSON');
  });

  it('validate lists every problem in every file and exits 3; --json gives them to scripts', async () => {
    const dir = tempProject({
      'templates/broken.yaml': BROKEN,
      'templates/also.yaml': 'name: also\nstep_templates:\n  - name: x\n    handler: http\n    retries: 2\n',
    });
    const result = await cli(['validate'], dir);
    expect(result.code).toBe(3);
    // The cycle and the handler problems of the same file, and the other file's: all at once.
    expect(result.stdout).toContain('templates/broken.yaml: step_templates: dependency cycle: b -> c -> b');
    expect(result.stdout).toContain('templates/also.yaml: step_templates[0] (x): unknown key(s) "retries"');
    expect(result.stdout).toContain(
      'templates/broken.yaml: step_templates[0] (a).handler: no handler named "nowhere"',
    );
    expect(result.stdout).toContain('templates/broken.yaml: step_templates[1] (b).handler_config.url');

    const cycle = await cli(
      ['validate', 'templates/broken.yaml', '--json'],
      tempProject({
        'templates/broken.yaml': BROKEN.replace(
          'nowhere',
          'http\n    handler_config: { url: "http://x" }',
        ).replace(
          'handler: http\n  - name: c',
          'handler: http\n    handler_config: { url: "http://x" }\n  - name: c',
        ),
      }),
    );
    expect(cycle.code).toBe(3);
    const report = json<{
      ok: boolean;
      checks: Array<{ name: string; problems?: Array<{ message: string }> }>;
    }>(cycle);
    expect(report.ok).toBe(false);
    expect(report.checks[1]!.problems!.map((p) => p.message)).toEqual(['dependency cycle: b -> c -> b']);
  });

  it('validate reports an invalid config with every problem (exit 3)', async () => {
    const dir = tempProject({
      'tasker.config.json': JSON.stringify({ execution: { concurrency: -1 }, api: { port: 'x' } }),
    });
    const result = await cli(['validate', '--json'], dir, { TASKER_POLL_INTERVAL_MS: 'often' });
    expect(result.code).toBe(3);
    const paths = json<{ checks: Array<{ problems: Array<{ path: string }> }> }>(
      result,
    ).checks[0]!.problems.map((p) => p.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'env TASKER_POLL_INTERVAL_MS',
        expect.stringMatching(/^execution\.concurrency/),
        expect.stringMatching(/^api\.port/),
      ]),
    );
  });

  it('init scaffolds a project that validates, and refuses to overwrite it', async () => {
    const dir = tempProject();
    const init = await cli(['init', 'app'], dir);
    expect(init.code).toBe(0);
    for (const file of [
      'tasker.config.yaml',
      '.gitignore',
      'package.json',
      'templates/order_processing.yaml',
      'handlers/customer.ts',
      'test/workflows.test.ts',
      'vitest.config.ts',
      'scripts/stand-in-api.mjs',
    ]) {
      expect(existsSync(join(dir, 'app', file)), file).toBe(true);
    }
    expect(JSON.parse(readFileSync(join(dir, 'app/package.json'), 'utf8')).dependencies).toHaveProperty(
      'tasker-ts',
    );
    const validate = await cli(['validate'], join(dir, 'app'));
    expect(validate.stdout).toContain('3 template(s) valid');
    expect(validate.code).toBe(0);
    const again = await cli(['init', 'app'], dir);
    expect(again.code).toBe(5);
    expect(again.stderr).toContain('use --force');
  });

  it('generate task writes a template, placeholder handlers and a test, which validate', async () => {
    const dir = tempProject({ 'tasker.config.yaml': 'workflows:\n  handlersDir: ./handlers\n' });
    const result = await cli(
      [
        'generate',
        'task',
        'refund',
        '--namespace',
        'payments',
        '--version',
        '1.0.0',
        '--steps',
        'check,pay,notify',
      ],
      dir,
    );
    expect(result.code).toBe(0);
    const template = readFileSync(join(dir, 'templates/refund.yaml'), 'utf8');
    expect(template).toContain('handler: refundPay');
    expect(template).toContain('depends_on_step: pay');
    expect(readFileSync(join(dir, 'handlers/refund.ts'), 'utf8')).toContain('placeholder: true');
    expect(readFileSync(join(dir, 'test/refund.test.ts'), 'utf8')).toContain("name: 'refund'");
    expect((await cli(['validate'], dir)).code).toBe(0);
    expect((await cli(['generate', 'task', 'bad name'], dir)).code).toBe(2);
  });
  it('generate test writes a test whose context is built from the template schema', async () => {
    const dir = tempProject({
      'templates/order.yaml': `
name: order_processing
namespace_name: shop
version: 2.0.0
schema:
  type: object
  required: [cart_id, email, channel]
  properties:
    cart_id: { type: integer, minimum: 1 }
    email: { type: string, format: email }
    channel: { enum: [web, store] }
    note: { type: string }
    coupon: { type: string, default: NONE }
step_templates:
  - name: price
    handler: http
    handler_config: { url: 'http://127.0.0.1:1/' }
`,
    });
    const result = await cli(['generate', 'test', 'shop/order_processing'], dir);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('wrote test/shop_order_processing.test.ts');
    const text = readFileSync(join(dir, 'test/shop_order_processing.test.ts'), 'utf8');
    const context = JSON.parse(/const context = (\{[\s\S]*?\n\});/.exec(text)![1]!);
    expect(context).toEqual({ cart_id: 1, email: 'user@example.com', channel: 'web', coupon: 'NONE' });
    expect(text).toContain("version: '2.0.0'");
    expect(text).toContain('{ timeout: 60_000 }');
    expect((await cli(['generate', 'test', 'shop/order_processing'], dir)).code).toBe(5);

    const typo = await cli(['generate', 'test', 'shop/order_procesing'], dir);
    expect(typo.code).not.toBe(0);
    expect(typo.stderr).toContain('did you mean "order_processing"');
    expect((await cli(['generate', 'test', 'order_processing'], dir)).code).toBe(2);
  });
});
