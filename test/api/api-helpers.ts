/** A Tasker with a few templates behind an API server (inject), for the API tests. */
import type { FastifyInstance } from 'fastify';
import { afterEach } from 'vitest';
import { type CreateApiServerOptions, createApiServer } from '../../src/api/index.js';
import { defineTask, PermanentError, type Tasker } from '../../src/index.js';
import { type Backend, type TestTasker, testTasker } from '../helpers.js';

const servers: FastifyInstance[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

/** Registers: shop.order (a diamond: validate -> charge, reserve -> ship) and shop.broken (fails for good). */
export function registerTemplates(tasker: Tasker): void {
  const ok = async () => ({ ok: true });
  tasker.register(
    defineTask({
      namespace: 'shop',
      name: 'order',
      version: '1.0.0',
      description: 'an order',
      contextSchema: { type: 'object', properties: { orderId: { type: 'integer' } }, required: ['orderId'] },
      steps: [
        { name: 'validate', handler: ok },
        { name: 'charge', dependsOn: ['validate'], handler: ok },
        { name: 'reserve', dependsOn: ['validate'], handler: ok },
        { name: 'ship', dependsOn: ['charge', 'reserve'], handler: ok },
      ],
    }),
  );
  tasker.register(
    defineTask({
      namespace: 'shop',
      name: 'broken',
      steps: [
        {
          name: 'explode',
          handler: async () => {
            throw new PermanentError('boom');
          },
        },
        { name: 'after', dependsOn: ['explode'], handler: ok },
      ],
    }),
  );
}

export interface ApiFixture extends TestTasker {
  readonly app: FastifyInstance;
}

export async function apiFixture(
  backend: Backend,
  options: Omit<CreateApiServerOptions, 'tasker'> = {},
): Promise<ApiFixture> {
  const t = await testTasker(backend);
  registerTemplates(t.tasker);
  const app = await createApiServer({ tasker: t.tasker, ...options });
  servers.push(app);
  return { ...t, app };
}

/** Table row counts, to prove a refused request wrote nothing. */
export async function rowCounts(t: TestTasker): Promise<Record<string, number>> {
  const q = `"${t.schema.replaceAll('"', '""')}"`;
  const out: Record<string, number> = {};
  for (const table of ['tasks', 'steps', 'task_transitions', 'step_transitions']) {
    const { rows } = await t.db.query<{ n: number }>(`SELECT count(*)::integer AS n FROM ${q}.${table}`);
    out[table] = Number(rows[0]!.n);
  }
  return out;
}
