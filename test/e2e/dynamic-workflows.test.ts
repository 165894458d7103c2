/**
 * Dynamic workflows on the task page, in a real headless browser (Debian's chromium through
 * playwright-core) against a real API server: a batch's workers folded under their batch step with a
 * count and progress (one graph node, not one per worker), parent and child tasks linked both ways, a
 * step waiting for a signal saying so, and compensation steps saying what they undo.
 */
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { expect, it } from 'vitest';
import { defineTask, PermanentError } from '../../src/index.js';
import { artifactsDir, CHROMIUM, ensureDashboardBuilt, startDashboardServer } from './dashboard-fixture.js';

const hasChromium = existsSync(CHROMIUM);

it.skipIf(!hasChromium)(
  'batches grouped, children linked, waits and compensation shown',
  { timeout: 120_000 },
  async () => {
    await ensureDashboardBuilt();
    const server = await startDashboardServer();
    const { tasker } = server;
    tasker.register(
      defineTask({
        namespace: 'dyn',
        name: 'child',
        steps: [{ name: 'work', handler: () => ({ done: 1 }) }],
      }),
    );
    tasker.register(
      defineTask({
        namespace: 'dyn',
        name: 'fanout',
        steps: [
          {
            name: 'pages',
            kind: 'batch',
            handler: () => ({ items: [1, 2, 3, 4, 5] }),
            batch: { handler: ({ inputs }) => ({ page: inputs }) },
          },
          {
            name: 'spawn',
            dependsOn: ['pages'],
            handler: async ({ startChild }) =>
              (await startChild({ namespace: 'dyn', name: 'child', context: {} })).results,
          },
          { name: 'approval', dependsOn: ['spawn'], kind: 'signal', signal: { name: 'approved' } },
        ],
      }),
    );
    tasker.register(
      defineTask({
        namespace: 'dyn',
        name: 'order',
        onFailure: 'alert',
        steps: [
          { name: 'charge', handler: () => ({ chargeId: 'ch_1' }), undo: 'refund' },
          {
            name: 'ship',
            dependsOn: ['charge'],
            handler: () => {
              throw new PermanentError('no carrier');
            },
          },
          { name: 'refund', kind: 'compensation', handler: () => ({ refunded: true }) },
          { name: 'alert', kind: 'compensation', handler: () => ({ paged: true }) },
        ],
      }),
    );
    await tasker.startWorker({ concurrency: 4 });
    const fanout = await tasker.createTask({ namespace: 'dyn', name: 'fanout', context: {} });
    const order = await tasker.createTask({ namespace: 'dyn', name: 'order', context: {} });
    await expect
      .poll(
        async () => (await tasker.getTask(fanout.id)).steps.find((s) => s.name === 'approval')?.waiting?.for,
        {
          timeout: 20_000,
        },
      )
      .toBe('signal');
    await expect
      .poll(async () => (await tasker.getTask(order.id)).steps.filter((s) => s.state === 'complete').length, {
        timeout: 20_000,
      })
      .toBe(3);

    const browser = await chromium.launch({ executablePath: CHROMIUM });
    const problems: string[] = [];
    try {
      const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
      page.setDefaultTimeout(15_000);
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));

      await page.goto(`${server.apiUrl}/ui/#/tasks/${fanout.id}`);
      const node = (name: string) => page.locator(`svg.dag g.node[data-step="${name}"]`);
      await node('pages').waitFor();
      // One node for the batch, its progress in its detail; none per worker.
      expect(await page.locator('svg.dag g.node').count()).toBe(3);
      expect(await node('pages').locator('.node-detail').textContent()).toContain('5/5 workers done');
      // In the table the workers are folded under the batch step, with the count and progress.
      const group = page.locator('tr.batch-workers[data-batch="pages"]');
      expect(await group.locator('[data-batch-progress]').textContent()).toBe('5/5 workers done');
      expect(await group.locator('details').getAttribute('data-workers')).toBe('5');
      expect(await page.locator('#steps > table > tbody > tr[data-step="pages[0]"]').count()).toBe(0);
      await group.locator('summary').click();
      await expect.poll(() => group.locator('tr[data-step="pages[4]"]').isVisible()).toBe(true);

      // The waiting step says what it waits for, in the table and in its panel.
      const approval = page.locator('#steps > table > tbody > tr[data-step="approval"]');
      expect(await approval.locator('.badge').textContent()).toBe('waiting for signal "approved"');
      await approval.getByRole('button', { name: 'approval' }).click();
      const waiting = page.locator('.step-panel dd[data-waiting="signal"]');
      await expect.poll(() => waiting.textContent()).toContain('waiting for signal "approved"');

      // The child task, linked from the parent and back.
      const children = page.locator('dd[data-child-tasks]');
      await expect.poll(() => children.getAttribute('data-child-tasks')).toBe('1');
      const child = (await tasker.listTasks({ parentTaskId: fanout.id })).tasks[0]!;
      await children.locator(`a[href="#/tasks/${child.id}"]`).click();
      const parent = page.locator('dd[data-parent-task]');
      await expect.poll(() => parent.getAttribute('data-parent-task')).toBe(String(fanout.id));
      await page.screenshot({ path: `${artifactsDir()}/dashboard-child-task.png`, fullPage: true });

      // Compensation steps of the failed order, with what they undo.
      await page.goto(`${server.apiUrl}/ui/#/tasks/${order.id}`);
      const refund = page.locator('#steps > table > tbody > tr[data-step="refund"]');
      await refund.waitFor();
      expect(await refund.locator('.tag').textContent()).toBe(' undoes charge');
      expect(await page.locator('tr[data-step="alert"] .tag').textContent()).toBe(' failure handler');
      expect(await node('refund').locator('.node-detail').textContent()).toBe('complete · undoes charge');
      await page.screenshot({ path: `${artifactsDir()}/dashboard-compensation.png`, fullPage: true });

      await tasker.signal(fanout.id, 'approved', { by: 'test' });
      expect((await tasker.waitForTask(fanout.id, { timeoutMs: 15_000 })).state).toBe('complete');
      expect(problems).toEqual([]);
    } finally {
      await browser.close();
      await server.close();
    }
  },
);
