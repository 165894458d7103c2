/**
 * The Failures and Schedules pages in a real headless browser (Debian's chromium through
 * playwright-core) against a real API server: a failure group with its hint and its failed steps linking
 * to the task; a schedule paused, resumed and run now from the page.
 */
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { expect, it } from 'vitest';
import { artifactsDir, CHROMIUM, ensureDashboardBuilt, startDashboardServer } from './dashboard-fixture.js';

const hasChromium = existsSync(CHROMIUM);

it.skipIf(!hasChromium)(
  'failures: groups with a hint and a drill-down; schedules: pause, resume, run now',
  {
    timeout: 120_000,
  },
  async () => {
    await ensureDashboardBuilt();
    const server = await startDashboardServer();
    const browser = await chromium.launch({ executablePath: CHROMIUM });
    const problems: string[] = [];
    try {
      const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
      page.setDefaultTimeout(15_000);
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));

      // The overview's charts (uPlot, from the server's analytics): finished tasks per bucket with the
      // failure rate, and the step durations histogram.
      await page.goto(`${server.apiUrl}/ui/#/`);
      await expect.poll(() => page.locator('#throughput .uplot canvas').count(), { timeout: 15_000 }).toBe(1);
      expect(await page.locator('#throughput [role="img"]').getAttribute('aria-label')).toMatch(
        /^1 tasks completed and 1 failed in the period, per 15 min$/,
      );
      await expect.poll(() => page.locator('#durations .uplot canvas').count()).toBe(1);
      expect(await page.locator('#durations [role="img"]').getAttribute('aria-label')).toMatch(
        /^\d+ successful step attempts/,
      );
      await page.screenshot({ path: `${artifactsDir()}/dashboard-charts.png`, fullPage: true });

      await page.goto(`${server.apiUrl}/ui/#/failures`);
      const groups = page.getByRole('table', { name: 'Failure groups' });
      await expect.poll(() => groups.locator('tbody tr').count(), { timeout: 15_000 }).toBe(1);
      await expect
        .poll(() => groups.locator('[data-category]').getAttribute('data-category'))
        .toBe('permanent');
      const fingerprint = await groups.locator('tbody tr code').first().textContent();
      await groups.locator('tbody tr a').first().click();
      const hint = page.locator('p.hint');
      await expect.poll(() => hint.textContent()).toContain('DECLINED');
      const failed = page.getByRole('table', { name: 'Failed steps' });
      await expect.poll(() => failed.locator('tbody tr').count()).toBe(1);
      await page.screenshot({ path: `${artifactsDir()}/dashboard-failures.png`, fullPage: true });
      await failed.locator(`a[href="#/tasks/${server.ids.failing}"]`).click();
      await expect.poll(() => page.url()).toContain(`#/tasks/${server.ids.failing}`);

      // Bulk retry of the group, confirmed in a dialog with a reason that lands in the audit trail.
      await page.goto(`${server.apiUrl}/ui/#/failures/${encodeURIComponent(fingerprint!)}`);
      await page.getByRole('button', { name: /Retry these 1 task/ }).click();
      const dialog = page.getByRole('dialog');
      await dialog.getByLabel('Reason').fill('card processor fixed');
      await dialog.locator('[data-confirm]').click();
      await expect
        .poll(async () => JSON.stringify(await server.tasker.getTaskTransitions(server.ids.failing)))
        .toContain('card processor fixed (bulk retry requested by dashboard)');

      await server.tasker.addSchedule({
        name: 'nightly-pipeline',
        task: 'demo/pipeline',
        cron: '0 3 * * *',
        timezone: 'Europe/Paris',
        context: { batch: 2 },
      });
      await page.goto(`${server.apiUrl}/ui/#/schedules`);
      const row = page.locator('tr[data-schedule="nightly-pipeline"]');
      await expect.poll(() => row.count()).toBe(1);
      expect(await row.textContent()).toContain('0 3 * * * (Europe/Paris)');
      await row.getByRole('button', { name: 'Pause' }).click();
      await expect.poll(() => row.textContent()).toContain('paused');
      expect((await server.tasker.getSchedule('nightly-pipeline')).paused).toBe(true);
      await row.getByRole('button', { name: 'Resume' }).click();
      await expect.poll(() => row.getByRole('button', { name: 'Pause' }).count()).toBe(1);
      await row.getByRole('button', { name: 'Run now' }).click();
      await expect
        .poll(() => page.getByRole('status').textContent())
        .toMatch(/nightly-pipeline: task #\d+ created/);
      expect((await server.tasker.getSchedule('nightly-pipeline')).recentFires).toHaveLength(1);
      await page.screenshot({ path: `${artifactsDir()}/dashboard-schedules.png`, fullPage: true });
      expect(problems).toEqual([]);
    } finally {
      await browser.close();
      await server.close();
    }
  },
);
