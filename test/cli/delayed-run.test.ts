// `tasker run --in / --at`: the task's first step starts no earlier than asked; bad values exit 2 naming
// the flag.
import { describe, expect, it } from 'vitest';
import { cli, json, tempProject } from './cli-helpers.js';

const TEMPLATE = `
name: later
namespace_name: demo
step_templates:
  - name: only
    handler: stamp
`;

describe('tasker run --in / --at (embedded database)', { timeout: 120_000 }, () => {
  it('delays the task, and refuses a bad duration or time', async () => {
    const dir = tempProject({
      'tasker.config.yaml': 'workflows:\n  templatesDir: ./templates\n  handlersDir: ./handlers\n',
      'templates/later.yaml': TEMPLATE,
      'handlers/stamp.ts': 'export function stamp() { return { at: Date.now() }; }\n',
    });
    const env = { TASKER_DATA_DIR: `${dir}/.tasker-data` };
    const before = Date.now();
    const delayed = await cli(['run', 'demo/later', '--in', '2s', '--json'], dir, env);
    expect(delayed.code, delayed.stderr).toBe(0);
    const task = json<{ runAt: string; steps: Array<{ results: { at: number } }> }>(delayed);
    expect(Date.parse(task.runAt) - before).toBeGreaterThanOrEqual(2000 - 5);
    expect(task.steps[0]!.results.at).toBeGreaterThanOrEqual(Date.parse(task.runAt) - 5);

    const badIn = await cli(['run', 'demo/later', '--in', '5x'], dir, env);
    expect(badIn.code).toBe(2);
    expect(badIn.stderr).toContain('--in must be a duration');
    const badAt = await cli(['run', 'demo/later', '--at', '2031-01-01 10:00'], dir, env);
    expect(badAt.code).toBe(2);
    expect(badAt.stderr).toContain('--at must be an ISO 8601 time with a zone');
    const both = await cli(['run', 'demo/later', '--at', '2031-01-01T10:00:00Z', '--in', '1s'], dir, env);
    expect(both.code).toBe(2);
  });
});
