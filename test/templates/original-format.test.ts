// Templates written for the original Tasker: handler_class paths bound to exports, api steps on the
// built-in http handler, names carrying a namespace or module path. Pure parts; the end-to-end run is
// in test/cli/migrating-from-rails.test.ts.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { httpConfigProblems } from '../../src/handlers/http-handler.js';
import { fromOriginalApiConfig } from '../../src/handlers/original-api-config.js';
import { asStepHandler, handlerExports, resolveHandlerClass } from '../../src/templates/handler-class.js';
import { mapTemplate, splitTemplateName, underscoreModulePath } from '../../src/templates/map-template.js';

const fn = (label: string) => Object.assign(() => label, { label });

class ProcessPaymentHandler {
  calls = 0;
  process(ctx: { context: { amount: number } }) {
    this.calls++;
    return { charged: ctx.context.amount, calls: this.calls };
  }
}

const modules = [
  {
    file: 'handlers/ecommerce.ts',
    module: {
      Ecommerce: { StepHandlers: { ValidateCartHandler: fn('nested validate'), ProcessPaymentHandler } },
      sendConfirmation: fn('plain'),
    },
  },
  {
    file: 'handlers/inventory.ts',
    module: { Inventory: { StepHandlers: { ValidateCartHandler: fn('other') } } },
  },
  { file: 'handlers/flat.ts', module: { CreateOrderHandler: fn('flat create'), NoProcess: class {} } },
];
const exported = handlerExports(modules);

describe('handler_class paths', () => {
  it('lists nested exports with their paths', () => {
    expect(exported.map((e) => e.path.join('.'))).toEqual([
      'Ecommerce.StepHandlers.ValidateCartHandler',
      'Ecommerce.StepHandlers.ProcessPaymentHandler',
      'sendConfirmation',
      'Inventory.StepHandlers.ValidateCartHandler',
      'CreateOrderHandler',
      'NoProcess',
    ]);
  });

  it('binds the export sharing the most trailing segments: the full nested path, or the last segment', () => {
    const full = resolveHandlerClass('Ecommerce::StepHandlers::ValidateCartHandler', exported);
    expect(full.kind === 'found' && full.match.path.join('.')).toBe(
      'Ecommerce.StepHandlers.ValidateCartHandler',
    );
    const last = resolveHandlerClass('Shop::StepHandlers::CreateOrderHandler', exported);
    expect(last.kind === 'found' && last.match.file).toBe('handlers/flat.ts');
    expect(last.kind === 'found' && (last.handler as () => string)()).toBe('flat create');
  });

  it('runs a class with a process method on one instance', async () => {
    const bound = resolveHandlerClass('Ecommerce::StepHandlers::ProcessPaymentHandler', exported);
    if (bound.kind !== 'found') throw new Error(JSON.stringify(bound));
    const run = bound.handler as unknown as (ctx: unknown) => unknown;
    expect(run({ context: { amount: 5 } })).toEqual({ charged: 5, calls: 1 });
    expect(run({ context: { amount: 7 } })).toEqual({ charged: 7, calls: 2 });
    expect(asStepHandler(class {})).toBeNull();
  });

  it('says which exports tie when several match equally, and lists the exports when none does', () => {
    const tie = resolveHandlerClass('Shop::StepHandlers::ValidateCartHandler', exported);
    expect(tie).toEqual({
      kind: 'problem',
      message: expect.stringContaining(
        'matches several exports equally well: Ecommerce.StepHandlers.ValidateCartHandler (handlers/ecommerce.ts), Inventory.StepHandlers.ValidateCartHandler (handlers/inventory.ts)',
      ),
    });
    const none = resolveHandlerClass('Shop::StepHandlers::ShipOrderHandler', exported);
    expect(none.kind === 'problem' && none.message).toContain(
      'expected a function or class named ShipOrderHandler',
    );
    expect(none.kind === 'problem' && none.message).toContain(
      'the handler modules export: Ecommerce.StepHandlers',
    );
    const noProcess = resolveHandlerClass('X::NoProcess', exported);
    expect(noProcess.kind === 'problem' && noProcess.message).toContain(
      'a class without a process(context) method',
    );
    // A plain name that matches nothing is left to the caller's own message.
    expect(resolveHandlerClass('nothingLikeIt', exported)).toEqual({ kind: 'none' });
  });
});

describe("the original's api handler_config on the http handler", () => {
  it('maps url placeholders, params, method and timeout; ignores the client tuning keys', () => {
    expect(
      fromOriginalApiConfig({
        type: 'api',
        url: 'http://127.0.0.1:4010/carts/{cart_id}',
        method: 'GET',
        params: { cart_id: 1, debug: true },
        headers: { 'X-Key': 'k' },
        timeout: 15,
        ssl: { verify: false },
        enable_exponential_backoff: true,
        retry_delay: 2,
      }),
    ).toEqual({
      config: {
        url: 'http://127.0.0.1:4010/carts/{{context.cart_id}}',
        method: 'GET',
        params: { cart_id: 1, debug: true },
        headers: { 'X-Key': 'k' },
        timeoutMs: 15000,
      },
      problems: [],
    });
    expect(httpConfigProblems({ type: 'api', url: 'http://x/{{context.a}}', retries: 3 })).toEqual([
      { path: 'retries', message: expect.stringContaining('unknown key for an api step') },
    ]);
    expect(httpConfigProblems({ type: 'api' })).toEqual([
      { path: 'url', message: 'expected the URL to call (a string)' },
    ]);
  });
});

describe('task names as the original and its successor write them', () => {
  it('reads "namespace/name", the module path beside namespace_name, and refuses a contradiction', () => {
    expect(underscoreModulePath('ApiTask')).toBe('api_task');
    expect(underscoreModulePath('Foo::HTTPClient')).toBe('foo/http_client');
    expect(splitTemplateName({ name: 'payments/order_processing' })).toEqual({
      namespace: 'payments',
      name: 'order_processing',
    });
    expect(splitTemplateName({ name: 'ecommerce/order_processing', namespace_name: 'ecommerce' })).toEqual({
      namespace: 'ecommerce',
      name: 'order_processing',
    });
    expect(
      splitTemplateName({
        name: 'api_task/integration_yaml_example',
        namespace_name: 'api_tests',
        module_namespace: 'ApiTask',
      }),
    ).toEqual({ namespace: 'api_tests', name: 'integration_yaml_example' });
    expect(splitTemplateName({ name: 'billing/charge', namespace_name: 'payments' }).problem).toEqual({
      path: 'name',
      message: expect.stringContaining('carries namespace "billing" but namespace_name is "payments"'),
    });
  });

  it("maps the original's forms: class_name, no namespace or version, task-level handler_config", () => {
    const mapped = mapTemplate(
      {
        name: 'welcome_user',
        module_namespace: 'WelcomeUser',
        class_name: 'WelcomeHandler',
        handler_config: { monitoring: { critical_workflow: true } },
        step_templates: [
          { name: 'fetch', handler_config: { type: 'api', url: 'http://127.0.0.1:1/users/{user_id}' } },
          {
            name: 'greet',
            depends_on_step: 'fetch',
            handler_class: 'WelcomeUser::StepHandlers::GreetHandler',
          },
        ],
      },
      'development',
    );
    expect(mapped.problems).toEqual([]);
    expect(mapped.definition).toMatchObject({ name: 'welcome_user', steps: [{ handler: 'http' }, {}] });
    // The original's defaults apply at registration: namespace "default", version "0.1.0".
    expect(mapped.definition).not.toHaveProperty('namespace');
    expect(mapped.definition).not.toHaveProperty('version');
    // Without type: api, a step with no handler is still an error.
    const missing = mapTemplate(
      { name: 'x', step_templates: [{ name: 'a', handler_config: { url: 'u' } }] },
      'development',
    );
    expect(missing.problems).toEqual([
      { path: 'step_templates[0] (a).handler', message: expect.stringContaining('expected a handler') },
    ]);
  });

  it("loads the original repository's own copy of its example (namespace_name beside the module path)", () => {
    const api = (url: string, params: Record<string, unknown>) => ({ handler_config: { url, params } });
    const mapped = mapTemplate(
      {
        name: 'api_task/integration_yaml_example',
        module_namespace: 'ApiTask',
        task_handler_class: 'IntegrationYamlExample',
        namespace_name: 'api_tests',
        version: '0.1.0',
        default_dependent_system: 'ecommerce_system',
        named_steps: ['fetch_cart', 'validate_products'],
        schema: { type: 'object', required: ['cart_id'], properties: { cart_id: { type: 'integer' } } },
        step_templates: [
          {
            name: 'fetch_cart',
            handler_class: 'ApiTask::StepHandler::CartFetchStepHandler',
            handler_config: { type: 'api', url: 'https://api.ecommerce.com/cart', params: { cart_id: 1 } },
          },
          {
            name: 'validate_products',
            depends_on_steps: ['fetch_cart'],
            handler_class: 'ApiTask::StepHandler::ProductsValidateStepHandler',
          },
        ],
        environments: {
          development: {
            step_templates: [
              { name: 'fetch_cart', ...api('http://localhost:3000/api/cart', { debug: true }) },
            ],
          },
          test: {
            step_templates: [
              { name: 'fetch_cart', ...api('http://test-api.ecommerce.com/cart', { test_mode: true }) },
            ],
          },
          production: {
            step_templates: [
              {
                name: 'fetch_cart',
                // The original's file writes the key as a literal "${...}" string: it stays one here.
                // biome-ignore lint/suspicious/noTemplateCurlyInString: the original template's own text
                ...api('https://api.ecommerce.com/cart', { api_key: '${ECOMMERCE_API_KEY}' }),
              },
            ],
          },
        },
      },
      'test',
    );
    expect(mapped.problems).toEqual([]);
    expect(mapped.definition).toMatchObject({
      namespace: 'api_tests',
      name: 'integration_yaml_example',
      steps: [
        {
          handler: 'ApiTask::StepHandler::CartFetchStepHandler',
          config: {
            type: 'api',
            url: 'http://test-api.ecommerce.com/cart',
            params: { cart_id: 1, test_mode: true },
          },
        },
        {},
      ],
    });
  });
});

describe('docs/migrating-from-rails.md', () => {
  it('shows the example template and handlers exactly as the tested project has them', () => {
    const root = join(import.meta.dirname, '../..');
    const doc = readFileSync(join(root, 'docs/migrating-from-rails.md'), 'utf8');
    const blocks = [...doc.matchAll(/```[a-z]*\n([\s\S]*?)```/g)].map((m) => m[1]);
    for (const file of ['templates/ecommerce/order_processing.yaml', 'handlers/ecommerce.ts']) {
      expect(blocks, file).toContain(readFileSync(join(root, 'docs/examples/original-tasker', file), 'utf8'));
    }
  });
});
