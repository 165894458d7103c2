import { describe, expect, test } from 'vitest';
import { defineTask, PermanentError } from '../../src/index.js';
import { BACKENDS, testTasker } from '../helpers.js';
import { billing } from './workflows.js';

/** The value of one sample line of the Prometheus text (undefined when absent). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
      return Number(line.split(' ').pop());
  }
  return undefined;
}

const T = { namespace: 'billing', name: 'charge', version: '2.1.0' };

describe.each(BACKENDS)('metrics (%s)', (backend) => {
  test('a workflow run is counted, timed and exposed as Prometheus text, per instance', async () => {
    const { tasker } = await testTasker(backend, {
      telemetry: { metrics: { defaultLabels: { service: 'shop' } } },
    });
    tasker.register(billing);
    tasker.register(
      defineTask({
        namespace: 'billing',
        name: 'refund',
        steps: [
          {
            name: 'slow',
            timeoutMs: 50,
            retryLimit: 1,
            handler: ({ signal }) =>
              new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
          },
          {
            name: 'never',
            handler: () => {
              throw new PermanentError('no');
            },
          },
        ],
      }),
    );
    const worker = await tasker.startWorker({ concurrency: 4 });
    const a = await tasker.createTask({ namespace: 'billing', name: 'charge' });
    const b = await tasker.createTask({ namespace: 'billing', name: 'refund' });
    await tasker.waitForTask(a.id);
    await tasker.waitForTask(b.id);
    // Events (and so counters) are delivered just after the commit.
    let text = '';
    for (let i = 0; i < 100; i++) {
      text = await tasker.metrics();
      if (
        sample(text, 'tasker_tasks_failed_total', { name: 'refund' }) === 1 &&
        sample(text, 'tasker_tasks_completed_total', T) === 1
      )
        break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(sample(text, 'tasker_tasks_created_total', T)).toBe(1);
    expect(sample(text, 'tasker_tasks_completed_total', T)).toBe(1);
    expect(sample(text, 'tasker_tasks_failed_total', { name: 'refund' })).toBe(1);
    expect(sample(text, 'tasker_step_outcomes_total', { ...T, step: 'capture', outcome: 'retry' })).toBe(1);
    expect(sample(text, 'tasker_step_outcomes_total', { ...T, step: 'capture', outcome: 'completed' })).toBe(
      1,
    );
    expect(sample(text, 'tasker_step_retries_total', { ...T, step: 'capture' })).toBe(1);
    expect(sample(text, 'tasker_step_timeouts_total', { name: 'refund', step: 'slow' })).toBe(1);
    expect(
      sample(text, 'tasker_step_outcomes_total', { name: 'refund', step: 'never', outcome: 'failed' }),
    ).toBe(1);
    expect(sample(text, 'tasker_task_duration_seconds_count', { ...T, state: 'complete' })).toBe(1);
    expect(sample(text, 'tasker_step_duration_seconds_count', { ...T, step: 'authorize' })).toBe(1);
    expect(
      sample(text, 'tasker_step_handoff_latency_seconds_count', { namespace: 'billing' }),
    ).toBeGreaterThanOrEqual(5);
    expect(sample(text, 'tasker_workers')).toBe(1);
    expect(sample(text, 'tasker_steps_in_flight')).toBe(0);
    expect(sample(text, 'tasker_live_workers')).toBe(1);
    expect(sample(text, 'tasker_queue_ready_steps')).toBe(0);
    expect(sample(text, 'tasker_queue_oldest_ready_age_seconds')).toBe(0);
    expect(sample(text, 'tasker_db_pool_max_connections')).toBe(tasker.database.maxConnections);
    expect(text).toMatch(/# TYPE tasker_tasks_created_total counter/);
    expect(text).toMatch(/service="shop"/);

    // The counts of every task and step reach the registry however it is read (a host application may
    // merge it into its own), and once each.
    const c = await tasker.createTask({ namespace: 'billing', name: 'charge' });
    await tasker.waitForTask(c.id);
    const created = async () =>
      (
        await tasker.telemetry.metrics!.registry.getSingleMetric('tasker_tasks_created_total')!.get()
      ).values.find((v) => v.labels.name === 'charge')?.value;
    for (let i = 0; i < 100 && (await created()) !== 2; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await created()).toBe(2);
    expect(sample(await tasker.metrics(), 'tasker_tasks_created_total', T)).toBe(2);

    // Another instance has its own registry.
    const other = await testTasker(backend);
    expect(sample(await other.tasker.metrics(), 'tasker_tasks_created_total', T)).toBeUndefined();
    await worker.stop();
    expect(sample(await tasker.metrics(), 'tasker_workers')).toBe(0);
  });

  test('the queue gauges see ready steps nobody runs', async () => {
    const { tasker } = await testTasker(backend);
    tasker.register(billing);
    await tasker.createTask({ namespace: 'billing', name: 'charge' });
    await tasker.createTask({ namespace: 'billing', name: 'charge' });
    await new Promise((r) => setTimeout(r, 20));
    const text = await tasker.metrics();
    expect(sample(text, 'tasker_queue_ready_steps')).toBe(2);
    expect(sample(text, 'tasker_queue_oldest_ready_age_seconds')).toBeGreaterThan(0);
  });

  test('telemetry off: no metrics', async () => {
    const { tasker } = await testTasker(backend, { telemetry: { enabled: false } });
    tasker.register(billing);
    const task = await tasker.createTask({ namespace: 'billing', name: 'charge' });
    await tasker.startWorker();
    expect((await tasker.waitForTask(task.id)).state).toBe('complete');
    expect(await tasker.metrics()).toBe('');
    expect(tasker.telemetry.metrics).toBeNull();
    expect(tasker.telemetry.tracing).toBeNull();
  });
});
