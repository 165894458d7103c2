// The task view of `tasker run` and `tasker status`: step ids (what `tasker resolve` takes), results, a
// symbol for every step state, the retry time, and skipped steps counted as done.
import { expect, test } from 'vitest';
import { renderTask } from '../../src/cli/progress.js';
import { STEP_STATES } from '../../src/model/states.js';
import type { Step, TaskWithSteps } from '../../src/model/types.js';

const step = (id: number, name: string, patch: Partial<Step>): Step =>
  ({
    id,
    name,
    state: 'pending',
    attempts: 0,
    retryLimit: 3,
    blocked: false,
    results: null,
    lastError: null,
    runAt: null,
    ...patch,
  }) as Step;

test('shows ids, results, retry times and a symbol per state', () => {
  const task = {
    id: 9,
    namespace: 'shop',
    name: 'order',
    version: '1.0.0',
    state: 'in_progress',
    steps: [
      step(101, 'validate', { state: 'complete', attempts: 1, results: { ok: true, total: 19.5 } }),
      step(102, 'gift_wrap', { state: 'skipped' }),
      step(103, 'charge', {
        state: 'waiting_for_retry',
        attempts: 1,
        runAt: new Date('2026-12-04T10:11:12Z'),
        lastError: { class: 'RetryableError', message: 'gateway busy' },
      }),
      step(104, 'ship', { state: 'pending' }),
    ],
  } as unknown as TaskWithSteps;
  const text = renderTask(task, { colour: false });
  expect(text).toContain('2/4 steps done');
  expect(text).toMatch(/✓ validate\s+#101\s+complete\s+\{"ok":true,"total":19.5\}/);
  expect(text).toMatch(/↷ gift_wrap\s+#102\s+skipped/);
  expect(text).toMatch(
    /↻ charge\s+#103\s+waiting_for_retry\s+attempt 1\/3 failed, retrying at 10:11:12 UTC: gateway busy/,
  );
  expect(text).not.toContain('?');

  for (const state of STEP_STATES) {
    const one = { ...task, steps: [step(1, 's', { state })] } as unknown as TaskWithSteps;
    expect(renderTask(one, { colour: false }), state).not.toMatch(/^\s+\? /m);
  }
});

test('long results are cut', () => {
  const task = {
    id: 1,
    namespace: 'a',
    name: 'b',
    version: '1',
    state: 'complete',
    steps: [step(5, 'big', { state: 'complete', attempts: 1, results: { text: 'x'.repeat(500) } })],
  } as unknown as TaskWithSteps;
  const line = renderTask(task, { colour: false }).split('\n')[1]!;
  expect(line).toContain('…');
  expect(line.length).toBeLessThan(140);
});
