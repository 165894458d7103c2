import { describe, expect, it } from 'vitest';
import { mapTemplate } from '../../src/templates/map-template.js';

const original = {
  name: 'order_processing',
  namespace_name: 'ecommerce',
  version: '1.0.1',
  task_handler_class: 'OrderProcessing::OrderHandler',
  module_namespace: 'OrderProcessing',
  concurrent: true,
  default_dependent_system: 'ecommerce_system',
  named_steps: ['validate_cart', 'check_inventory', 'create_order'],
  schema: { type: 'object', required: ['cart_id'], properties: { cart_id: { type: 'integer' } } },
  step_templates: [
    {
      name: 'validate_cart',
      handler_class: 'Steps::ValidateCart',
      default_retryable: true,
      default_retry_limit: 3,
    },
    {
      name: 'check_inventory',
      handler_class: 'Steps::CheckInventory',
      depends_on_step: 'validate_cart',
      skippable: true,
      handler_config: { type: 'api', url: 'https://example.com/inventory', headers: { a: '1' } },
      custom_events: [{ name: 'inventory.checked', description: 'after the check' }],
    },
    {
      name: 'create_order',
      handler_class: 'Steps::CreateOrder',
      depends_on_steps: ['validate_cart', 'check_inventory'],
      default_retryable: false,
      dependent_system: 'orders',
    },
  ],
  environments: {
    production: {
      step_templates: [
        { name: 'check_inventory', default_retry_limit: 9, handler_config: { headers: { b: '2' } } },
      ],
    },
  },
};

describe('mapping a YAML template', () => {
  it('accepts a template written for the original, with its snake_case keys', () => {
    const { definition, problems } = mapTemplate(original, 'development');
    expect(problems).toEqual([]);
    expect(definition).toMatchObject({
      namespace: 'ecommerce',
      name: 'order_processing',
      version: '1.0.1',
      dependentSystem: 'ecommerce_system',
      contextSchema: original.schema,
    });
    expect(definition!.steps).toEqual([
      {
        name: 'validate_cart',
        handler: 'Steps::ValidateCart',
        dependsOn: [],
        retryable: true,
        retryLimit: 3,
      },
      {
        name: 'check_inventory',
        handler: 'Steps::CheckInventory',
        dependsOn: ['validate_cart'],
        skippable: true,
        config: { type: 'api', url: 'https://example.com/inventory', headers: { a: '1' } },
        customEvents: [{ name: 'inventory.checked', description: 'after the check' }],
      },
      {
        name: 'create_order',
        handler: 'Steps::CreateOrder',
        dependsOn: ['validate_cart', 'check_inventory'],
        retryable: false,
        dependentSystem: 'orders',
      },
    ]);
  });

  it('merges the chosen environment by step name, deeply for handler_config', () => {
    const { definition } = mapTemplate(original, 'production');
    expect(definition!.steps[1]).toMatchObject({
      retryLimit: 9,
      config: { type: 'api', url: 'https://example.com/inventory', headers: { a: '1', b: '2' } },
    });
  });

  it('accepts the aliases namespace, handler, retry_limit, timeout_seconds and config', () => {
    const { definition, problems } = mapTemplate(
      {
        name: 't',
        namespace: 'n',
        step_templates: [{ name: 'a', handler: 'h', retry_limit: 2, timeout_seconds: 1.5, config: { x: 1 } }],
      },
      'development',
    );
    expect(problems).toEqual([]);
    expect(definition!.steps[0]).toEqual({
      name: 'a',
      handler: 'h',
      dependsOn: [],
      retryLimit: 2,
      timeoutMs: 1500,
      config: { x: 1 },
    });
  });

  it('reports every problem with the step and key it is about', () => {
    const { definition, problems } = mapTemplate(
      {
        name: 'bad name!',
        namespace: 'n',
        namespace_name: 'n',
        step_templates: [
          { name: 'a', handler: 'h', default_retry_limit: 0, colour: 'red' },
          { name: 'b', depends_on_step: 7 },
          { name: 'c', handler: 'h', handler_class: 'H', timeout_ms: 10, timeout_seconds: 1 },
        ],
        environments: { staging: { step_templates: [{ name: 'zzz', skippable: true }] } },
      },
      'development',
    );
    expect(definition).toBeNull();
    expect(problems.map((p) => p.path)).toEqual([
      'name',
      'step_templates[0] (a).default_retry_limit',
      'step_templates[0] (a)',
      'step_templates[1] (b).depends_on_step',
    ]);
    expect(problems[1]!.message).toContain('at least 1 attempt');
    expect(problems[2]!.message).toBe('unknown key(s) "colour"');
  });

  it('reports alias clashes, missing handlers and unknown override targets once the shape is right', () => {
    const { problems } = mapTemplate(
      {
        name: 't',
        namespace: 'n',
        namespace_name: 'n',
        named_steps: ['a', 'x'],
        step_templates: [
          { name: 'a', handler: 'h', handler_class: 'H' },
          { name: 'b', timeout_ms: 10, timeout_seconds: 1 },
        ],
        environments: { staging: { step_templates: [{ name: 'zzz', skippable: true }] } },
      },
      'development',
    );
    expect(problems).toEqual([
      { path: 'namespace', message: 'expected either namespace_name or namespace, not both' },
      {
        path: 'environments.staging.step_templates[0].name',
        message: 'no step named "zzz"; expected one of: "a", "b"',
      },
      {
        path: 'step_templates[0] (a).handler_class',
        message: 'expected either handler or handler_class, not both',
      },
      {
        path: 'step_templates[1] (b).timeout_seconds',
        message: 'expected either timeout_ms or timeout_seconds, not both',
      },
      {
        path: 'step_templates[1] (b).handler',
        message:
          'expected a handler (or handler_class, or handler_config.type: api for the built-in http handler)',
      },
      {
        path: 'named_steps',
        message: 'expected the names of step_templates; missing b; no step template for x',
      },
    ]);
  });

  it('names a dependency cycle step by step and an unknown dependency by the key used', () => {
    const cycle = mapTemplate(
      {
        name: 't',
        step_templates: [
          { name: 'a', handler: 'h', depends_on_step: 'c' },
          { name: 'b', handler: 'h', depends_on_step: 'a' },
          { name: 'c', handler: 'h', depends_on_steps: ['b'] },
        ],
      },
      'development',
    );
    expect(cycle.problems).toEqual([
      { path: 'step_templates', message: 'dependency cycle: a -> b -> c -> a' },
    ]);

    const unknown = mapTemplate(
      { name: 't', step_templates: [{ name: 'a', handler: 'h', depends_on_step: 'nope' }] },
      'development',
    );
    expect(unknown.problems).toEqual([
      { path: 'step_templates[0] (a).depends_on_step', message: 'unknown step "nope"; expected one of: "a"' },
    ]);
  });
});
