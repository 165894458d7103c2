// `tasker run` and identity strategies set in YAML templates: a strict duplicate exits 5 naming the
// existing task; caller_provided needs --idempotency-key and a repeated key follows the first task.
import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers.js';
import { cli, databaseEnv, json, tempProject } from './cli-helpers.js';

const template = (name: string, strategy: string) => `
name: ${name}
namespace_name: ids
identity_strategy: ${strategy}
schema:
  type: object
  properties: { orderId: { type: integer } }
step_templates:
  - name: only
    handler: echo
`;

describe.each(BACKENDS)('tasker run and identity strategies on %s', { timeout: 240_000 }, (backend) => {
  it('strict: the same context again exits 5 naming the task; caller_provided needs the key', async () => {
    const dir = tempProject({
      'tasker.config.yaml': 'workflows:\n  templatesDir: ./templates\n  handlersDir: ./handlers\n',
      'templates/strict.yaml': template('strict', 'strict'),
      'templates/keyed.yaml': template('keyed', 'caller_provided'),
      'handlers/echo.ts': 'export function echo({ context }: any) { return context; }\n',
    });
    const env = databaseEnv(backend, dir);
    const first = await cli(['run', 'ids/strict', '--context', '{"orderId":1}', '--json'], dir, env);
    expect(first.code, first.stderr).toBe(0);
    const id = json<{ id: number }>(first).id;

    const againJson = await cli(['run', 'ids/strict', '--context', '{"orderId":1}', '--json'], dir, env);
    expect(againJson.code).toBe(5);
    expect(json(againJson)).toMatchObject({
      error: {
        code: 'TASKER_DUPLICATE_TASK',
        existingTaskId: id,
        message: expect.stringContaining(`task ${id} already exists`),
      },
    });

    const missing = await cli(['run', 'ids/keyed'], dir, env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('idempotencyKey: required');
    const keyed = await cli(['run', 'ids/keyed', '--idempotency-key', 'k1', '--json'], dir, env);
    expect(keyed.code, keyed.stderr).toBe(0);
    const repeated = await cli(['run', 'ids/keyed', '--idempotency-key', 'k1', '--json'], dir, env);
    expect(repeated.code, repeated.stderr).toBe(0);
    expect(json<{ id: number }>(repeated).id).toBe(json<{ id: number }>(keyed).id);
  });
});
