// Templates written for the original Rails Tasker, loaded and run as they are with `tasker validate` and
// `tasker run` (child processes): the project in docs/examples/original-tasker, which
// docs/migrating-from-rails.md walks through, against a local stand-in for the shop API it calls.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskWithSteps } from '../../src/model/types.js';
import { BACKENDS } from '../helpers.js';
import { cli, databaseEnv, json, tempProject } from './cli-helpers.js';
import { exampleFiles, startShopApi } from './original-example.js';

const config = 'workflows:\n  templatesDir: ./templates\n  handlersDir: ./handlers\n';

describe.each(BACKENDS)('templates from the original Tasker on %s', { timeout: 300_000 }, (backend) => {
  let api: Awaited<ReturnType<typeof startShopApi>>;
  beforeAll(async () => {
    api = await startShopApi();
  });
  afterAll(() => new Promise<void>((resolve) => api.server.close(() => resolve())));

  it('validate accepts them as they are, and run runs them to completion', async () => {
    const dir = tempProject({ ...exampleFiles(api.origin), 'tasker.config.yaml': config });
    const env = { ...databaseEnv(backend, dir), ECOMMERCE_API_URL: api.origin };

    const validated = await cli(['validate', '--json'], dir, env);
    expect(validated.code, validated.stdout).toBe(0);
    const templates = json<{ checks: Array<{ templates?: string[] }> }>(validated).checks[1]?.templates;
    expect(templates?.sort()).toEqual([
      'api_task/integration_yaml_example@0.1.0',
      'default/welcome_user@0.1.0',
      'ecommerce/order_processing@1.0.0',
      'payments/order_processing@1.0.0',
    ]);

    const order = await cli(
      [
        'run',
        'ecommerce/order_processing',
        '--context',
        '{"cart_id": 3, "customer_email": "ada@example.com"}',
        '--json',
      ],
      dir,
      env,
    );
    expect(order.code, order.stderr).toBe(0);
    const done = json<TaskWithSteps>(order);
    const results = Object.fromEntries(done.steps.map((s) => [s.name, s.results]));
    expect(results.fetch_cart).toMatchObject({ status: 200, body: { id: 3 } });
    expect(results.validate_cart).toMatchObject({ cart_id: 3, total: 39 });
    expect(results.process_payment).toEqual({ payment_id: `pay_${done.id}`, amount: 39, gateway: 'sandbox' });
    expect(results.send_confirmation).toEqual({ sent_to: 'ada@example.com', order_id: 1000 + done.id });

    // The original's README example, named as it names it.
    const readme = await cli(
      ['run', 'api_task/integration_yaml_example', '--context', '{"cart_id": 1}', '--json'],
      dir,
      env,
    );
    expect(readme.code, readme.stderr).toBe(0);
    const example = json<TaskWithSteps>(readme);
    expect(example).toMatchObject({
      namespace: 'api_task',
      name: 'integration_yaml_example',
      version: '0.1.0',
    });
    expect(example.steps.find((s) => s.name === 'create_order')?.results).toMatchObject({
      cart_id: 1,
      total: 30,
    });
  });
});
