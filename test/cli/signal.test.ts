// `tasker signal` against a real database: a running `tasker worker` process waits on a signal step; the
// CLI's signal ends the wait with its payload; a finished task refuses it (exit 5), a bad payload is a
// usage error (exit 2).
import { describe, expect, it } from 'vitest';
import { createTasker, loadWorkflows, registerWorkflows } from '../../src/index.js';
import { PG_URL } from '../helpers.js';
import { cli, databaseEnv, json, spawnCli, tempProject } from './cli-helpers.js';

describe.skipIf(!PG_URL)(
  'tasker signal (PostgreSQL, a worker process beside it)',
  { timeout: 120_000 },
  () => {
    it('ends a waiting step with the payload; refuses a finished task', async () => {
      const dir = tempProject({
        'tasker.config.yaml': 'workflows:\n  templatesDir: ./templates\n  handlersDir: ./handlers\n',
        'templates/gate.yaml': [
          'name: gate',
          'namespace_name: demo',
          'version: 1.0.0',
          'step_templates:',
          '  - { name: open, kind: signal, signal: { name: open } }',
          '  - { name: go, handler: go, depends_on_step: open }',
          '',
        ].join('\n'),
        'handlers/go.ts': 'export const go = ({ parents }) => parents.open.payload;\n',
      });
      const env = databaseEnv('postgres', dir);
      expect((await cli(['migrate'], dir, env)).code).toBe(0);
      const worker = spawnCli(['worker'], dir, env);
      await worker.waitFor('started');
      const tasker = await createTasker({
        database: { url: PG_URL!, schema: env.TASKER_DATABASE_SCHEMA!, maxConnections: 2, migrate: false },
      });
      try {
        registerWorkflows(
          tasker,
          await loadWorkflows({ templatesDir: 'templates', handlersDir: 'handlers', cwd: dir }),
        );
        const { id } = await tasker.createTask({ namespace: 'demo', name: 'gate' });
        const sent = await cli(
          ['signal', String(id), 'open', '--payload', '{"door": 3}', '--json'],
          dir,
          env,
        );
        expect(sent.code, sent.stderr).toBe(0);
        expect(json(sent)).toMatchObject({ taskId: id, name: 'open', signalId: expect.any(Number) });
        const done = await tasker.waitForTask(id, { timeoutMs: 60_000 });
        expect(done.state).toBe('complete');
        expect(done.steps.find((s) => s.name === 'go')!.results).toEqual({ door: 3 });

        const late = await cli(['signal', String(id), 'open'], dir, env);
        expect(late.code).toBe(5);
        expect(late.stderr).toContain('takes no more signals');
        const bad = await cli(['signal', String(id), 'open', '--payload', '{nope'], dir, env);
        expect(bad.code).toBe(2);
      } finally {
        await tasker.close();
        worker.child.kill('SIGTERM');
        await worker.result;
      }
    });
  },
);
