/**
 * Archived tasks in the dashboard, in a real headless browser (Debian's chromium through playwright-core)
 * against a real API server: the task list shows live tasks by default and archived ones under the
 * archived tier, marked as such; an archived task's page shows its steps and audit trail, says it is
 * archived, and offers no action.
 */
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { expect, it } from 'vitest';
import { artifactsDir, CHROMIUM, ensureDashboardBuilt, startDashboardServer } from './dashboard-fixture.js';

const hasChromium = existsSync(CHROMIUM);

it.skipIf(!hasChromium)(
  'archived tasks: the tier menu, the archived mark, a read-only task page',
  { timeout: 120_000 },
  async () => {
    await ensureDashboardBuilt();
    const server = await startDashboardServer();
    const browser = await chromium.launch({ executablePath: CHROMIUM });
    const problems: string[] = [];
    try {
      // The finished pipeline and failing tasks move into the archive; the slow one is still running.
      expect(await server.tasker.prune({ olderThan: 0, archive: true })).toMatchObject({ tasks: 2 });
      const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
      page.setDefaultTimeout(15_000);
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      const rows = page.locator('table.tasks tbody tr');
      const ids = async () =>
        await rows.evaluateAll((trs) => trs.map((tr) => Number(tr.getAttribute('data-task-id'))));

      await page.goto(`${server.apiUrl}/ui/#/tasks`);
      await expect.poll(ids).toEqual([server.ids.slow]);

      // A choice not yet applied survives the live refresh that a new task causes (the form once put the
      // applied value back on every re-render, so Apply sent the old tier).
      await page.getByLabel('Tier').selectOption('archived');
      const another = await server.tasker.createTask({ namespace: 'demo', name: 'slow', context: {} });
      await expect.poll(ids).toEqual([another.id, server.ids.slow]);
      expect(await page.getByLabel('Tier').inputValue()).toBe('archived');
      await page.getByRole('button', { name: 'Apply filters' }).click();
      await expect.poll(ids).toEqual([server.ids.failing, server.ids.pipeline]);
      expect(await rows.locator('.badge.archived').count()).toBe(2);
      expect(page.url()).toContain('tier=archived');
      await page.screenshot({ path: `${artifactsDir()}/dashboard-archived-list.png`, fullPage: true });

      await page.locator(`a[href="#/tasks/${server.ids.failing}"]`).click();
      await page.locator('[data-archived-at]').waitFor();
      expect(await page.locator('.page-head .badge.archived').textContent()).toBe('archived');
      // In error, but archived: no retry, no cancel.
      expect(await page.getByRole('button', { name: 'Retry task' }).count()).toBe(0);
      expect(await page.getByRole('button', { name: 'Cancel task' }).count()).toBe(0);
      await expect.poll(() => page.locator('tr[data-step]').count()).toBe(2);
      await page.locator('svg.dag g.node[data-step="charge_card"]').click();
      await expect.poll(() => page.locator('.step-panel').getAttribute('data-step')).toBe('charge_card');
      expect(await page.locator('.step-panel .step-actions').count()).toBe(0);
      await expect.poll(() => page.locator('#audit tbody tr').count()).toBeGreaterThan(3);
      await page.screenshot({ path: `${artifactsDir()}/dashboard-archived-task.png`, fullPage: true });
      expect(problems).toEqual([]);
    } finally {
      await browser.close();
      await server.close();
    }
  },
);
