import { describe, expect, test } from 'vitest';
import { defineTask } from '../../src/definitions/define-task.js';
import type { TaskerError } from '../../src/errors.js';

const noop = async () => ({});

function problemsOf(fn: () => unknown): Array<{ path: string; message: string }> {
  try {
    fn();
  } catch (error) {
    expect((error as TaskerError).code).toBe('TASKER_INVALID_DEFINITION');
    return [...((error as TaskerError).details ?? [])];
  }
  throw new Error('expected the definition to be refused');
}

describe('defineTask', () => {
  test('normalizes a valid definition', () => {
    const t = defineTask({
      namespace: 'shop',
      name: 'order',
      version: '1.2.3',
      steps: [
        { name: 'a', handler: noop },
        { name: 'b', dependsOn: ['a'], handler: noop, retryLimit: 5, timeoutMs: 1000 },
        { name: 'c', dependsOn: ['a'], handler: 'http', retryable: false },
      ],
    });
    expect(t.fullName).toBe('shop.order@1.2.3');
    expect(t.steps.map((s) => s.retryLimit)).toEqual([3, 5, 1]);
    expect(t.steps[1]!.parentPositions).toEqual([0]);
    expect(t.steps[0]!.childPositions).toEqual([1, 2]);
    expect(t.executionOrder).toEqual(['a', 'b', 'c']);
    expect(t.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  test('defaults namespace and version', () => {
    const t = defineTask({ name: 'x', steps: [{ name: 'a', handler: noop }] });
    expect(t.namespace).toBe('default');
    expect(t.version).toBe('0.1.0');
  });

  test('reports every problem at once, each with its path', () => {
    const problems = problemsOf(() =>
      defineTask({
        name: 'bad name!',
        version: 'one',
        steps: [
          { name: 'a', handler: noop, retryLimit: 0 },
          { name: 'b', handler: noop, timeoutMs: -5 },
        ],
      }),
    );
    const paths = problems.map((p) => p.path);
    expect(paths).toEqual(
      expect.arrayContaining(['name', 'version', 'steps[0].retryLimit', 'steps[1].timeoutMs']),
    );
  });

  test('refuses unknown and duplicate dependencies and duplicate names', () => {
    const problems = problemsOf(() =>
      defineTask({
        name: 't',
        steps: [
          { name: 'a', handler: noop, dependsOn: ['nope'] },
          { name: 'a', handler: noop },
          { name: 'c', handler: noop, dependsOn: ['c'] },
        ],
      }),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          path: 'steps[0].dependsOn[0]',
          message: expect.stringContaining('unknown step "nope"'),
        }),
        expect.objectContaining({
          path: 'steps[1].name',
          message: expect.stringContaining('duplicate step name "a"'),
        }),
        expect.objectContaining({
          path: 'steps[2].dependsOn[0]',
          message: expect.stringContaining('itself'),
        }),
      ]),
    );
  });

  test('names a cycle step by step', () => {
    const problems = problemsOf(() =>
      defineTask({
        name: 't',
        steps: [
          { name: 'start', handler: noop },
          { name: 'a', handler: noop, dependsOn: ['start', 'c'] },
          { name: 'b', handler: noop, dependsOn: ['a'] },
          { name: 'c', handler: noop, dependsOn: ['b'] },
        ],
      }),
    );
    expect(problems).toHaveLength(1);
    expect(problems[0]!.message).toMatch(
      /^dependency cycle: (a -> b -> c -> a|b -> c -> a -> b|c -> a -> b -> c)$/,
    );
  });

  test('refuses unknown keys and handlers that are neither functions nor names', () => {
    const problems = problemsOf(() =>
      defineTask({
        name: 't',
        // @ts-expect-error: deliberately wrong
        steps: [{ name: 'a', handler: 42, dependOn: ['x'] }],
      }),
    );
    expect(problems.map((p) => p.path)).toEqual(expect.arrayContaining(['steps[0].handler', 'steps[0]']));
    expect(problems.find((p) => p.path === 'steps[0]')!.message).toContain('"dependOn"');
  });

  test('an empty step list is refused', () => {
    expect(problemsOf(() => defineTask({ name: 't', steps: [] }))[0]!.path).toBe('steps');
  });
});
