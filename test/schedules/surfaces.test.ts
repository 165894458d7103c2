// Schedules over REST, GraphQL and the CLI: add, list with upcoming times, pause, resume, run now,
// remove; bad specs are 400 naming the field; an unknown schedule is 404 / exit 4.
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, test } from 'vitest';
import { createApiServer } from '../../src/api/index.js';
import { defineTask } from '../../src/index.js';
import { cli, databaseEnv, json, tempProject } from '../cli/cli-helpers.js';
import { BACKENDS, testTasker } from '../helpers.js';

const apps: FastifyInstance[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

describe.each(BACKENDS)('schedules over HTTP on %s', { timeout: 60_000 }, (backend) => {
  test('REST and GraphQL manage schedules', async () => {
    const { tasker } = await testTasker(backend);
    tasker.register(
      defineTask({ namespace: 'ops', name: 'ping', steps: [{ name: 'ping', handler: () => 'pong' }] }),
    );
    const app = await createApiServer({ tasker });
    apps.push(app);
    await app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/tasker`;
    const send = (method: string, path: string, body?: unknown) =>
      fetch(`${base}${path}`, {
        method,
        ...(body === undefined
          ? {}
          : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
      });

    const added = await send('POST', '/schedules', {
      name: 'hourly',
      task: 'ops/ping',
      cron: '0 * * * *',
      timezone: 'Asia/Tokyo',
    });
    expect(added.status).toBe(200);
    const schedule = (await added.json()) as { upcoming: string[]; nextFireAt: string; source: string };
    expect(schedule.upcoming).toHaveLength(5);
    expect(schedule.upcoming.every((t) => t.endsWith(':00:00.000Z'))).toBe(true);
    expect(schedule.source).toBe('api');

    const list = (await (await send('GET', '/schedules?upcoming=2')).json()) as {
      items: Array<{ name: string; upcoming: string[] }>;
    };
    expect(list.items.map((s) => [s.name, s.upcoming.length])).toEqual([['hourly', 2]]);

    const bad = await send('POST', '/schedules', { name: 'bad', task: 'ops/ping', cron: 'every day' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { detail: string }).detail).toContain('cron');
    const unknownTemplate = await send('POST', '/schedules', {
      name: 'bad',
      task: 'ops/pong',
      intervalMs: 5000,
    });
    expect(unknownTemplate.status).toBe(400);

    expect(
      ((await (await send('POST', '/schedules/hourly/pause')).json()) as { paused: boolean }).paused,
    ).toBe(true);
    expect(
      ((await (await send('POST', '/schedules/hourly/resume')).json()) as { paused: boolean }).paused,
    ).toBe(false);
    const ran = await send('POST', '/schedules/hourly/run');
    expect(ran.status).toBe(201);
    const task = (await ran.json()) as { id: number; created: boolean };
    expect(task.created).toBe(true);
    const shown = (await (await send('GET', '/schedules/hourly')).json()) as {
      recentFires: Array<{ taskId: number; manual: boolean }>;
    };
    expect(shown.recentFires).toEqual([expect.objectContaining({ taskId: task.id, manual: true })]);
    expect((await send('GET', '/schedules/nope')).status).toBe(404);

    const gql = async (query: string, variables: Record<string, unknown> = {}) =>
      (await (await send('POST', '/graphql', { query, variables })).json()) as {
        data: Record<string, unknown>;
        errors?: unknown[];
      };
    const added2 = await gql(
      'mutation($i: ScheduleInput!) { addSchedule(input: $i) { name intervalMs upcoming } }',
      {
        i: { name: 'often', task: 'ops/ping', intervalMs: 60000, paused: true },
      },
    );
    expect(added2.data.addSchedule).toMatchObject({ name: 'often', intervalMs: 60000, upcoming: [] });
    const listed = await gql(
      '{ schedules(upcoming: 1) { name paused upcoming } schedule(name: "nope") { name } }',
    );
    expect(listed.data).toEqual({
      schedules: [
        { name: 'hourly', paused: false, upcoming: [expect.any(String)] },
        { name: 'often', paused: true, upcoming: [] },
      ],
      schedule: null,
    });
    const run = await gql('mutation { runSchedule(name: "often") { id state } }');
    expect(run.data.runSchedule).toMatchObject({ state: 'pending' });
    expect((await gql('mutation { removeSchedule(name: "often") }')).data.removeSchedule).toBe(true);
    expect((await send('DELETE', '/schedules/hourly')).status).toBe(204);
    expect(((await (await send('GET', '/schedules')).json()) as { items: unknown[] }).items).toEqual([]);
  });
});

test('tasker schedule add, list, pause, resume, run and remove', { timeout: 120_000 }, async () => {
  const dir = tempProject({
    'templates/ping.yaml':
      'name: ping\nnamespace_name: ops\nversion: 1.0.0\nstep_templates:\n  - name: ping\n    handler: http\n    handler_config: { url: "http://127.0.0.1:1/" }\n',
  });
  const env = databaseEnv('pglite', dir);
  const added = await cli(
    ['schedule', 'add', 'nightly', '--task', 'ops/ping', '--cron', '0 2 * * *', '--timezone', 'Europe/Paris'],
    dir,
    env,
  );
  expect(added.code, added.stderr).toBe(0);
  expect(added.stdout).toContain('nightly: ops/ping, cron "0 2 * * *" Europe/Paris');
  expect(added.stdout).toMatch(/next: \d{4}-\d\d-\d\dT0[01]:00:00\.000Z/);
  expect((await cli(['schedule', 'add', 'x', '--task', 'ops/ping'], dir, env)).code).toBe(2);
  expect((await cli(['schedule', 'add', 'x', '--task', 'ops/ping', '--every', 'often'], dir, env)).code).toBe(
    2,
  );
  const badCron = await cli(['schedule', 'add', 'x', '--task', 'ops/ping', '--cron', '99 * * * *'], dir, env);
  expect(badCron.code).toBe(2);
  expect(badCron.stderr).toContain('cron');
  expect(
    (await cli(['schedule', 'add', 'every-5m', '--task', 'ops/ping', '--every', '5m', '--paused'], dir, env))
      .code,
  ).toBe(0);
  const listed = json<Array<{ name: string; paused: boolean }>>(
    await cli(['schedule', 'list', '--json'], dir, env),
  );
  expect(listed.map((s) => [s.name, s.paused])).toEqual([
    ['every-5m', true],
    ['nightly', false],
  ]);
  expect((await cli(['schedule', 'resume', 'every-5m'], dir, env)).stdout).toContain('every-5m: resumed');
  expect((await cli(['schedule', 'pause', 'nightly'], dir, env)).stdout).toContain('nightly: paused');
  expect((await cli(['schedule', 'run', 'nightly'], dir, env)).stdout).toMatch(/nightly: task \d+ created/);
  expect((await cli(['schedule', 'show', 'nightly'], dir, env)).stdout).toMatch(/run now .* -> task \d+/);
  expect((await cli(['schedule', 'remove', 'nightly'], dir, env)).code).toBe(0);
  expect((await cli(['schedule', 'remove', 'nightly'], dir, env)).code).toBe(4);
});
