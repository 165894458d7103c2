// The dead-letter view over REST, GraphQL and the CLI: groups with category and hint, one group's steps,
// 404 for an unknown fingerprint, bad filters refused naming the field.
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, test } from 'vitest';
import { createApiServer } from '../../src/api/index.js';
import { defineTask, PermanentError } from '../../src/index.js';
import { cli, databaseEnv, json, tempProject } from '../cli/cli-helpers.js';
import { BACKENDS, PG_URL, testTasker } from '../helpers.js';

const apps: FastifyInstance[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

const failing = defineTask({
  namespace: 'shop',
  name: 'checkout',
  steps: [
    {
      name: 'charge',
      handler: ({ context }: { context: { n: number } }) => {
        throw new PermanentError(`card of order ${context.n} declined`, { code: 'CARD_DECLINED' });
      },
    },
  ],
});

describe.each(BACKENDS)('failures over HTTP on %s', { timeout: 60_000 }, (backend) => {
  test("REST and GraphQL list the groups and a group's steps", async () => {
    const { tasker } = await testTasker(backend);
    tasker.register(failing);
    await tasker.startWorker();
    for (let n = 1; n <= 3; n++) {
      const { id } = await tasker.createTask({ namespace: 'shop', name: 'checkout', context: { n } });
      await tasker.waitForTask(id, { timeoutMs: 30_000 });
    }
    const app = await createApiServer({ tasker });
    apps.push(app);
    await app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/tasker`;

    const list = await fetch(`${base}/failures?since=2020-01-01T00:00:00Z`);
    expect(list.status).toBe(200);
    const { items } = (await list.json()) as { items: Array<Record<string, unknown>> };
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({
      category: 'permanent',
      steps: 3,
      tasks: 3,
      affected: [{ namespace: 'shop', name: 'checkout', version: '0.1.0', step: 'charge' }],
      sample: { class: 'PermanentError', code: 'CARD_DECLINED' },
      hintRule: 'permanent',
    });
    expect(items[0]!.hint).toContain('CARD_DECLINED');
    const fingerprint = items[0]!.fingerprint as string;

    const group = await fetch(`${base}/failures/${fingerprint}?limit=2`);
    expect(group.status).toBe(200);
    const steps = (await group.json()) as { items: Array<{ taskId: number; error: { message: string } }> };
    expect(steps.items).toHaveLength(2);
    expect(steps.items[0]!.error.message).toMatch(/^card of order \d declined$/);

    expect((await fetch(`${base}/failures/ffffffffffff`)).status).toBe(404);
    const bad = await fetch(`${base}/failures?limit=0&since=yesterday`);
    expect(bad.status).toBe(400);
    const problem = (await bad.json()) as { detail: string };
    expect(problem.detail).toMatch(/limit|since/);
    expect(
      ((await fetch(`${base}/openapi.json`).then((r) => r.json())) as { paths: Record<string, unknown> })
        .paths,
    ).toHaveProperty('/tasker/failures/{fingerprint}');

    // The analytics behind the overview's charts.
    const throughput = (await (await fetch(`${base}/analytics/throughput?period=1`)).json()) as {
      bucketMs: number;
      buckets: Array<{ completed: number; failed: number }>;
    };
    expect(throughput.bucketMs).toBe(30_000);
    expect(throughput.buckets.reduce((sum, b) => sum + b.failed, 0)).toBe(3);
    const durations = (await (
      await fetch(`${base}/analytics/step-durations?period=1&namespace=shop`)
    ).json()) as {
      buckets: unknown[];
    };
    expect(durations.buckets).toEqual([]); // every attempt failed
    expect((await fetch(`${base}/analytics/throughput?period=-1`)).status).toBe(400);

    const gql = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query: `query($f: String!) { failures(limit: 5) { fingerprint category steps hint affected { name step } }
                 failedSteps(fingerprint: $f, limit: 1) { taskId step error } }`,
        variables: { f: fingerprint },
      }),
    });
    const body = (await gql.json()) as {
      data: { failures: Array<{ category: string; steps: number }>; failedSteps: Array<{ step: string }> };
    };
    expect(body.data.failures).toEqual([
      expect.objectContaining({
        fingerprint,
        category: 'permanent',
        steps: 3,
        affected: [{ name: 'checkout', step: 'charge' }],
      }),
    ]);
    expect(body.data.failedSteps).toEqual([expect.objectContaining({ step: 'charge' })]);
  });
});

describe.skipIf(!PG_URL)('tasker failures', { timeout: 120_000 }, () => {
  test("lists the groups with hints and a group's steps; an unknown fingerprint exits 4", async () => {
    const dir = tempProject({
      'tasker.config.yaml': 'workflows:\n  templatesDir: ./templates\n  handlersDir: ./handlers\n',
      'templates/checkout.yaml':
        'name: checkout\nnamespace_name: shop\nversion: 1.0.0\nstep_templates:\n  - name: charge\n    handler: charge\n    retry_limit: 1\n',
      'handlers/charge.ts':
        'export const charge = ({ context }: { context: { n: number } }) => (context as any).card.number;\n',
    });
    const env = databaseEnv('postgres', dir);
    for (let n = 0; n < 2; n++) {
      const run = await cli(['run', 'shop/checkout', '--context', JSON.stringify({ n }), '--json'], dir, env);
      expect(run.code).toBe(1);
    }
    const text = await cli(['failures', '--since', '1h'], dir, env);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('1 failure group(s)');
    expect(text.stdout).toContain('handler_bug  2 step(s) in 2 task(s)');
    expect(text.stdout).toMatch(/hint: A bug in the handler at charge \(handlers\/charge\.ts\)/);
    const groups = json<Array<{ fingerprint: string }>>(await cli(['failures', '--json'], dir, env));
    const steps = await cli(['failures', groups[0]!.fingerprint], dir, env);
    expect(steps.stdout).toContain('2 failed step(s)');
    expect((await cli(['failures', 'ffffffffffff'], dir, env)).code).toBe(4);
    expect((await cli(['failures', '--since', 'last tuesday'], dir, env)).code).toBe(2);
  });
});
