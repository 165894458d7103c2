/**
 * The dashboard in a real headless browser (Debian's chromium through playwright-core) against a real
 * API server with real tasks. Screenshots go to test-artifacts/. Skipped, saying why, when
 * /usr/bin/chromium is missing (.ci/run installs it).
 */
import { existsSync } from 'node:fs';
import { SignJWT } from 'jose';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  artifactsDir,
  CHROMIUM,
  type DashboardServer,
  ensureDashboardBuilt,
  startDashboardServer,
} from './dashboard-fixture.js';

const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  console.warn(`dashboard e2e tests skipped: ${CHROMIUM} is missing (apt-get install -y chromium)`);
}

/** expect.poll with room for a slow, shared machine. */
const poll = <T>(fn: () => Promise<T> | T, options: { timeout?: number } = {}) =>
  expect.poll(fn, { timeout: 15_000, ...options });

/** Opens a page that refuses (and records) any request to a host other than our server, and records page errors. */
async function openPage(browser: Browser, server: DashboardServer, problems: string[]): Promise<Page> {
  const origin = new URL(server.apiUrl).origin;
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    // Refused requests (401/403 on purpose) are logged by the browser itself; anything else is a bug.
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
      problems.push(`console error: ${message.text()}`);
    }
  });
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(origin) || url.startsWith('data:')) return route.continue();
    problems.push(`request outside our server: ${url}`);
    return route.abort();
  });
  return page;
}

describe.skipIf(!hasChromium)('dashboard in a browser', () => {
  let browser: Browser;

  beforeAll(async () => {
    await ensureDashboardBuilt();
    browser = await chromium.launch({ executablePath: CHROMIUM });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('lists tasks, draws a task graph with its states, cancels a running task and creates one', async () => {
    const server = await startDashboardServer();
    const problems: string[] = [];
    const page = await openPage(browser, server, problems);
    const shots = artifactsDir();
    try {
      // The list shows each task in its state.
      await page.goto(`${server.apiUrl}/ui/#/tasks`);
      const row = (id: number) => page.locator(`tr[data-task-id="${id}"]`);
      await poll(() => row(server.ids.pipeline).getAttribute('data-state')).toBe('complete');
      expect(await row(server.ids.failing).getAttribute('data-state')).toBe('error');
      expect(await row(server.ids.slow).getAttribute('data-state')).toBe('in_progress');
      await page.screenshot({ path: `${shots}/dashboard-task-list.png`, fullPage: true });

      // Live: a task created and cancelled elsewhere appears and changes state without a reload.
      const other = await server.tasker.createTask({ namespace: 'demo', name: 'slow', context: {} });
      await poll(() => row(other.id).count()).toBe(1);
      await server.tasker.cancelTask(other.id, { reason: 'from another client' });
      await poll(() => row(other.id).getAttribute('data-state')).toBe('cancelled');

      // A filter narrows the list (through the URL, so it can be shared).
      await page.selectOption('select[name="state"]', 'error');
      await page.getByRole('button', { name: 'Apply filters' }).click();
      await poll(() => page.locator('tr[data-task-id]').count()).toBe(1);
      expect(page.url()).toContain('state=error');

      // Task detail: the DAG with every step's state, the retried step's backoff on the timeline.
      await page.goto(`${server.apiUrl}/ui/#/tasks/${server.ids.pipeline}`);
      const node = (name: string) => page.locator(`svg.dag g.node[data-step="${name}"]`);
      await node('load').waitFor();
      expect(await page.locator('svg.dag g.node').count()).toBe(4);
      for (const name of ['extract', 'transform_a', 'transform_b', 'load']) {
        expect(await node(name).getAttribute('data-state')).toBe('complete');
      }
      expect(await page.locator('svg.dag path.edge').count()).toBe(4);
      // The critical path is the chain that finished last: extract, the retried transform_b (it backed
      // off, then finished after transform_a), load; the path is as long as the task.
      for (const [name, critical] of [
        ['extract', 'true'],
        ['transform_a', 'false'],
        ['transform_b', 'true'],
        ['load', 'true'],
      ] as const) {
        expect(await node(name).getAttribute('data-critical'), name).toBe(critical);
      }
      expect(await page.locator('[data-critical-path]').textContent()).toBe('extract → transform_b → load');
      const bRow = page.locator('svg.timeline g[data-step="transform_b"]');
      await bRow.waitFor();
      expect(await bRow.getAttribute('data-attempts')).toBe('2');
      expect(await bRow.locator('rect[data-kind="backoff"]').count()).toBe(1);
      // A finished run is history: nothing offers to cancel it.
      expect(await page.getByRole('button', { name: 'Cancel task' }).count()).toBe(0);
      // Results are in the steps table, and workers are named as in the workers list (host:pid).
      const extractRow = page.locator('tr[data-step="extract"]');
      expect(await extractRow.locator('.result-cell').textContent()).toBe('{"rows":7}');
      const workerName = (await server.tasker.liveWorkers())[0]!.name;
      expect(await extractRow.locator('td').nth(3).textContent()).toBe(workerName);
      // Selecting a step (by keyboard) shows its results beside the graph.
      await node('extract').focus();
      await page.keyboard.press('Enter');
      await poll(() => page.locator('.step-panel').getAttribute('data-step')).toBe('extract');
      expect(await page.locator('.step-panel pre.json').first().textContent()).toContain('"rows": 7');
      const graphBox = (await page.locator('#graph').boundingBox())!;
      const panelBox = (await page.locator('.step-panel').boundingBox())!;
      expect(panelBox.x).toBeGreaterThan(graphBox.x + graphBox.width - 1);
      expect(panelBox.y).toBeLessThan(graphBox.y + graphBox.height);
      await page.screenshot({ path: `${shots}/dashboard-task-detail.png`, fullPage: true });

      // The failed task: the failed step, and the one below it shown as blocked (the CLI's words), off
      // the critical path since it never ran.
      await page.goto(`${server.apiUrl}/ui/#/tasks/${server.ids.failing}`);
      await node('charge_card').waitFor();
      expect(await node('charge_card').getAttribute('data-state')).toBe('error');
      expect(await node('send_receipt').getAttribute('data-state')).toBe('blocked');
      expect(await node('send_receipt').locator('.node-detail').textContent()).toBe(
        'blocked by a failed step',
      );
      expect(await page.locator('tr[data-step="send_receipt"] .badge').textContent()).toBe(
        'blocked by a failed step',
      );
      expect(await node('charge_card').getAttribute('data-critical')).toBe('true');
      expect(await node('send_receipt').getAttribute('data-critical')).toBe('false');
      expect(await page.locator('tr[data-step="charge_card"] .error-text').textContent()).toContain(
        'card declined',
      );
      expect(await page.getByRole('button', { name: 'Cancel task' }).count()).toBe(0);
      await page.screenshot({ path: `${shots}/dashboard-task-failed.png`, fullPage: true });

      // Cancel the running task, with confirmation; the page and the engine agree.
      await page.goto(`${server.apiUrl}/ui/#/tasks/${server.ids.slow}`);
      await node('wait_for_approval').waitFor();
      expect(await node('wait_for_approval').getAttribute('data-state')).toBe('in_progress');
      // A running linear chain: its critical path is every step, the running one counted until now.
      expect(await page.locator('[data-critical-path]').textContent()).toBe('prepare → wait_for_approval');
      await page.getByRole('button', { name: 'Cancel task' }).click();
      const dialog = page.locator('dialog.confirm');
      await dialog.locator('input').fill('no longer needed');
      await page.screenshot({ path: `${shots}/dashboard-cancel-dialog.png` });
      await dialog.locator('button[data-confirm]').click();
      await poll(() => page.locator('.page[data-task-id]').getAttribute('data-state')).toBe('cancelled');
      await poll(() => node('wait_for_approval').getAttribute('data-state')).toBe('cancelled');
      expect((await server.tasker.getTask(server.ids.slow)).state).toBe('cancelled');
      expect(await page.locator('table.audit').textContent()).toContain('no longer needed');

      // A link without a version opens the latest, selected, with an example the schema accepts.
      await page.goto(`${server.apiUrl}/ui/#/new?namespace=demo&name=pipeline`);
      const context = page.locator('textarea[name="context"]');
      await context.waitFor();
      await poll(() => page.locator('select').first().inputValue()).toBe('demo|pipeline|1.0.0');
      expect(JSON.parse(await context.inputValue())).toEqual({ batch: 1 });
      expect(await page.locator('#context-problems .ok').textContent()).toContain(
        "matches the template's schema",
      );
      expect(await page.getByRole('button', { name: 'Create task…' }).isDisabled()).toBe(false);
      await page.screenshot({ path: `${shots}/dashboard-create-prefilled.png`, fullPage: true });

      // Create a task from a template: the form checks the context against the schema before sending.
      await page.goto(`${server.apiUrl}/ui/#/new?namespace=demo&name=pipeline&version=1.0.0`);
      await context.fill('{"batch": 0, "oops": true}');
      const fieldErrors = page.locator('ul.field-errors');
      await poll(() => fieldErrors.textContent()).toContain('/oops is not allowed by the schema');
      expect(await fieldErrors.textContent()).toContain('/batch must be >= 1');
      expect(await page.getByRole('button', { name: 'Create task…' }).isDisabled()).toBe(true);
      await page.screenshot({ path: `${shots}/dashboard-create-invalid.png`, fullPage: true });
      await context.fill('{"batch": 3}');
      await page.getByRole('button', { name: 'Create task…' }).click();
      await page.locator('dialog.confirm button[data-confirm]').click();
      await page.waitForURL(/#\/tasks\/\d+$/);
      const createdId = Number(new URL(page.url()).hash.split('/').pop());
      expect(createdId).toBeGreaterThan(server.ids.slow);
      const created = await server.tasker.waitForTask(createdId, { timeoutMs: 30_000 });
      expect(created.context).toEqual({ batch: 3 });
      // Live update: the open page follows the task to the end without a reload.
      await poll(() => page.locator('.page[data-task-id]').getAttribute('data-state'), {
        timeout: 20_000,
      }).toBe('complete');

      // Overview and templates render; dark mode too.
      await page.goto(`${server.apiUrl}/ui/#/`);
      await poll(() => page.locator('.tile[data-state="cancelled"] .tile-value').textContent()).toBe('2');
      // Two tasks completed and one failed so far: a third of the finished tasks ended in error.
      await poll(() => page.locator('[data-error-rate]').textContent()).toBe('33.3 %');
      // One error rate on the page, and no unexplained health score.
      expect(await page.getByText('Error rate').count()).toBe(1);
      expect(await page.getByText(/health score/i).count()).toBe(0);
      // The step queue counts the failed task's blocked step apart, never as waiting to run.
      expect(await page.locator('[data-queue="blocked"]').textContent()).toContain('1');
      expect(await page.locator('[data-queue="ready"]').textContent()).toBe('0');
      expect(await page.locator('[data-queue="waitingForParents"]').textContent()).toBe('0');
      // The chart has axes: whole-number counts and clock times.
      const chart = page.locator('#history svg.chart');
      expect(await chart.locator('.tick.y text').first().textContent()).toBe('0');
      expect(await chart.locator('.tick.x text').count()).toBeGreaterThan(1);
      expect(await chart.locator('rect.bar.created').count()).toBeGreaterThan(0);
      expect(await page.locator('table.workers tbody tr').count()).toBe(1);
      await page.screenshot({ path: `${shots}/dashboard-overview.png`, fullPage: true });
      await page.emulateMedia({ colorScheme: 'dark' });
      await page.goto(`${server.apiUrl}/ui/#/templates/demo/pipeline`);
      await page.locator('svg.dag g.node[data-step="load"]').waitFor();
      await page.screenshot({ path: `${shots}/dashboard-templates-dark.png`, fullPage: true });

      expect(problems).toEqual([]);
    } finally {
      if (problems.length) console.warn('dashboard page problems:', problems);
      await page.context().close();
      await server.close();
    }
  }, 180_000);

  it('asks for a token when auth is on, then uses it; a read-only token gets a clear 403', async () => {
    const secret = 'dashboard-e2e-secret-at-least-32-bytes-long';
    const server = await startDashboardServer({ auth: { enabled: true, jwt: { secret } } });
    const token = (permissions: string[]) =>
      new SignJWT({ permissions })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('e2e')
        .setExpirationTime('10m')
        .sign(new TextEncoder().encode(secret));
    const problems: string[] = [];
    const page = await openPage(browser, server, problems);
    try {
      await page.goto(`${server.apiUrl}/ui/#/tasks`);
      const notSignedIn = page.locator('[data-status="401"]').first();
      await notSignedIn.waitFor();
      expect(await notSignedIn.textContent()).toContain('401');
      await page.screenshot({ path: `${artifactsDir()}/dashboard-auth-401.png` });

      const readOnly = await token(['tasker.task:index', 'tasker.task:show']);
      await page.locator('.token-form input').fill(readOnly);
      await page.getByRole('button', { name: 'Save token' }).click();
      await poll(() => page.locator(`tr[data-task-id="${server.ids.slow}"]`).getAttribute('data-state')).toBe(
        'in_progress',
      );
      expect(
        await page.evaluate(() =>
          (
            globalThis as unknown as { localStorage: { getItem(k: string): string | null } }
          ).localStorage.getItem('tasker.token'),
        ),
      ).toBe(readOnly);

      await page.goto(`${server.apiUrl}/ui/#/tasks/${server.ids.slow}`);
      await page.getByRole('button', { name: 'Cancel task' }).click();
      await page.locator('dialog.confirm button[data-confirm]').click();
      const refused = page.locator('dialog.confirm [data-status="403"]');
      await refused.waitFor();
      expect(await refused.textContent()).toContain('403');
      expect((await server.tasker.getTask(server.ids.slow)).state).toBe('in_progress');
      expect(problems).toEqual([]);
    } finally {
      if (problems.length) console.warn('dashboard page problems:', problems);
      await page.context().close();
      await server.close();
    }
  }, 180_000);

  it('Swagger UI renders the operations at /api-docs and /api-docs/ (its assets under the API prefix)', async () => {
    const server = await startDashboardServer();
    const problems: string[] = [];
    const page = await openPage(browser, server, problems);
    const failed: string[] = [];
    page.on('response', (response) => {
      if (response.status() >= 400) failed.push(`${response.status()} ${response.url()}`);
    });
    try {
      for (const path of ['/api-docs', '/api-docs/']) {
        await page.goto(`${server.apiUrl}${path}`);
        // The operations list: one block per route, e.g. POST /tasker/tasks.
        await page.locator('.opblock').first().waitFor();
        expect(await page.locator('.opblock').count()).toBeGreaterThan(10);
        expect(
          await page.locator('.opblock-summary-path', { hasText: '/tasker/tasks/{id}/cancel' }).count(),
        ).toBe(1);
        await page.screenshot({
          path: `${artifactsDir()}/swagger-ui${path.endsWith('/') ? '-slash' : ''}.png`,
        });
      }
      expect(failed).toEqual([]);
      expect(problems).toEqual([]);
    } finally {
      await page.context().close();
      await server.close();
    }
  }, 120_000);

  it('GraphiQL works offline: its page and scripts come from our server, and a query runs', async () => {
    const server = await startDashboardServer();
    const problems: string[] = [];
    const page = await openPage(browser, server, problems);
    try {
      await page.goto(`${server.apiUrl}/graphiql`);
      await page.locator('.graphiql-container').waitFor();
      await page.screenshot({ path: `${artifactsDir()}/graphiql.png` });
      // The same query GraphiQL would send, from the page's origin, through its fetcher endpoint.
      const answer = await page.evaluate(async (url) => {
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query: '{ tasks(limit: 1) { items { id state } } }' }),
        });
        return (await response.json()) as { errors?: unknown; data: { tasks: { items: unknown[] } } };
      }, `${server.apiUrl}/graphql`);
      expect(answer.errors).toBeUndefined();
      expect(answer.data.tasks.items).toHaveLength(1);
      expect(problems).toEqual([]);
    } finally {
      await page.context().close();
      await server.close();
    }
  }, 120_000);
});
