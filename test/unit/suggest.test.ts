// "Did you mean": typos get the name they stand for, wild guesses get nothing; and the suggestions reach
// the real messages (a YAML template's unknown key and handler, an unknown task).
import { expect, test } from 'vitest';
import { createTemplateRegistry } from '../../src/definitions/registry.js';
import { defineTask } from '../../src/index.js';
import { suggest } from '../../src/model/suggest.js';
import { mapTemplate } from '../../src/templates/map-template.js';

test('suggest: typos, case, aliases; nothing for a distant word', () => {
  expect(suggest('retry_limt', ['retry_limit', 'retryable', 'timeout_ms'])).toBe('retry_limit');
  expect(suggest('Handler', ['handler', 'name'])).toBe('handler');
  expect(suggest('steps', ['name', 'step_templates'])).toBe('step_templates');
  expect(suggest('chargeCard', ['charge_card', 'ship'])).toBe('charge_card');
  expect(suggest('payment', ['charge_card', 'ship'])).toBeUndefined();
  expect(suggest('xyz', ['handler', 'name'])).toBeUndefined();
  expect(suggest('a', [])).toBeUndefined();
});

test('a YAML template with typos names the keys it meant, at every level', () => {
  const mapped = mapTemplate(
    {
      name: 'order',
      namespace_name: 'shop',
      version: '1.0.0',
      step_templates: [{ name: 'charge', handler: 'charge', retry_limt: 3 }],
      descriptoin: 'x',
    },
    'development',
  );
  const text = mapped.problems.map((p) => `${p.path}: ${p.message}`).join('\n');
  expect(text).toContain('"retry_limt" (did you mean "retry_limit"?)');
  expect(text).toContain('"descriptoin" (did you mean "description"?)');
});

test('an unknown task name suggests the registered one', () => {
  const registry = createTemplateRegistry();
  registry.add(
    defineTask({ namespace: 'shop', name: 'process_order', steps: [{ name: 'a', handler: () => 1 }] }),
  );
  expect(() => registry.get('shop', 'proces_order')).toThrow('(did you mean "process_order"?)');
});
