// The example project of docs/migrating-from-rails.md through the library: the original's template
// forms register under the names its callers use, and handler_class problems name the candidates.
import { describe, expect, it } from 'vitest';
import { loadWorkflows, registerWorkflows } from '../../src/templates/load-templates.js';
import { tempProject } from '../cli/cli-helpers.js';
import { exampleFiles } from '../cli/original-example.js';
import { BACKENDS, testTasker } from '../helpers.js';

const load = (dir: string) =>
  loadWorkflows({ templatesDir: `${dir}/templates`, handlersDir: `${dir}/handlers`, cwd: dir });

describe.each(BACKENDS)("the original's template forms on %s", (backend) => {
  it('default namespace and version, namespaced names, and names with a module path all resolve', async () => {
    const dir = tempProject(exampleFiles('http://127.0.0.1:9'));
    const loaded = await load(dir);
    expect(loaded.problems).toEqual([]);
    const { tasker } = await testTasker(backend);
    registerWorkflows(tasker, loaded);

    // No namespace_name or version: the original's defaults.
    expect(tasker.template('default', 'welcome_user')).toMatchObject({ version: '0.1.0' });
    const welcome = await tasker.createTask({ name: 'welcome_user', context: { user_id: 7 } });
    // "payments/order_processing" as the successor writes it, with or without a namespace given.
    const payment = await tasker.createTask({ name: 'payments/order_processing', context: { order_id: 5 } });
    expect(payment).toMatchObject({ namespace: 'payments', name: 'order_processing' });
    // The README example, as the original's callers name it.
    const readme = await tasker.createTask({
      name: 'api_task/integration_yaml_example',
      context: { cart_id: 1 },
    });
    expect(readme).toMatchObject({
      namespace: 'api_task',
      name: 'integration_yaml_example',
      version: '0.1.0',
    });
    const explicit = await tasker.createTask({
      namespace: 'default',
      name: 'api_task/integration_yaml_example',
      context: { cart_id: 1 },
    });
    expect(explicit.namespace).toBe('api_task');
    await tasker.cancelTask(readme.id);
    await tasker.cancelTask(explicit.id);

    await tasker.startWorker({ namespaces: ['default', 'payments'] });
    const welcomed = await tasker.waitForTask(welcome.id, { timeoutMs: 20_000 });
    expect(welcomed.steps.find((s) => s.name === 'send_email')?.results).toEqual({
      delivered_to: 'user7@example.com',
    });
    const paid = await tasker.waitForTask(payment.id, { timeoutMs: 20_000 });
    expect(paid.steps.find((s) => s.name === 'capture')?.results).toEqual({ captured: 'auth_5' });
  });

  it('a handler_class that binds to nothing, or to several exports, is reported with the candidates', async () => {
    const dir = tempProject({
      ...exampleFiles('http://127.0.0.1:9'),
      'handlers/more.ts': 'export const Inventory = { StepHandlers: { ValidateCartHandler: () => null } };\n',
      'templates/broken.yaml': [
        'name: broken',
        'step_templates:',
        '  - name: ship',
        '    handler_class: Shop::StepHandlers::ShipOrderHandler',
        '  - name: validate',
        '    handler_class: Shop::StepHandlers::ValidateCartHandler',
        '  - name: fetch',
        '    handler_class: Shop::StepHandlers::FetchHandler',
        '    handler_config: { type: api, url: "http://127.0.0.1:9/x" }',
        '',
      ].join('\n'),
    });
    const loaded = await load(dir);
    expect(loaded.problems).toEqual([
      {
        path: 'templates/broken.yaml: step_templates[0] (ship).handler_class',
        message: expect.stringMatching(
          /matches no export .* expected a function or class named ShipOrderHandler .* the handler modules export: .*Ecommerce\.StepHandlers\.ValidateCartHandler/,
        ),
      },
      {
        path: 'templates/broken.yaml: step_templates[1] (validate).handler_class',
        message: expect.stringContaining(
          'matches several exports equally well: Ecommerce.StepHandlers.ValidateCartHandler (handlers/ecommerce.ts), Inventory.StepHandlers.ValidateCartHandler (handlers/more.ts)',
        ),
      },
      {
        path: 'templates/broken.yaml: step_templates[2] (fetch).handler_class',
        message: expect.stringContaining(
          'or remove handler_class to run this api step on the built-in http handler',
        ),
      },
    ]);
    expect(loaded.templates.map((t) => t.name)).not.toContain('broken');
  });
});
