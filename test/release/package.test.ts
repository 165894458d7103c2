// The package as a user gets it: `npm pack`, the tarball installed into a fresh directory (from npm's
// cache, as a user's install would fetch it), then the `tasker` command and the library used from there,
// and a project made by the installed `tasker init` running its examples and its generated tests.
// Nothing from this repository's node_modules or sources is visible to it.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { expect, test } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');
const npm = (args: string[], cwd: string) =>
  execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 240_000 });

test.skipIf(!existsSync(join(ROOT, 'dist/index.js')))(
  'the packed tarball installs into a fresh project, and its CLI and library run a task',
  { timeout: 600_000 },
  () => {
    const work = mkdtempSync(join(tmpdir(), 'tasker-release-'));
    // dist/ is built by `npm test` before the tests run; packing must not rebuild it under other tests.
    const [packed] = JSON.parse(
      npm(['pack', '--json', '--ignore-scripts', '--pack-destination', work], ROOT),
    ) as Array<{
      filename: string;
      files: Array<{ path: string }>;
    }>;
    const paths = packed!.files.map((f) => f.path);
    expect(paths).toContain('dist/index.js');
    expect(paths).toContain('dist/cli/main.js');
    expect(paths).not.toContain('dist/.build-stamp');
    expect(paths.some((p) => p.startsWith('dist/ui/'))).toBe(true);
    // The alert rules (with their runbook) and the Grafana dashboard, for operators.
    for (const file of [
      'deploy/prometheus/rules.yml',
      'docs/runbook.md',
      'deploy/grafana/tasker-dashboard.json',
    ]) {
      expect(paths).toContain(file);
    }
    expect(
      paths.filter(
        (p) => /^(test|src)\//.test(p) || p.startsWith('dist/bench/') || p.startsWith('dist/examples/'),
      ),
    ).toEqual([]);

    const app = join(work, 'app');
    execFileSync('mkdir', ['-p', app]);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    npm(['install', '--prefer-offline', '--no-audit', '--no-fund', join(work, packed!.filename)], app);
    const installed = JSON.parse(readFileSync(join(app, 'node_modules/tasker-ts/package.json'), 'utf8')) as {
      version: string;
    };
    expect(installed.version).toBe(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);

    const help = execFileSync(join(app, 'node_modules/.bin/tasker'), ['--help'], {
      cwd: app,
      encoding: 'utf8',
    });
    expect(help).toContain('Usage: tasker');

    writeFileSync(
      join(app, 'main.js'),
      `import { createTasker, defineTask } from 'tasker-ts';
const tasker = await createTasker({ database: { dataDir: './.tasker' }, telemetry: { log: { level: 'silent' } } });
tasker.register(defineTask({ name: 'hello', steps: [{ name: 'greet', handler: ({ context }) => 'hello ' + context.who }] }));
await tasker.startWorker();
const { id } = await tasker.createTask({ name: 'hello', context: { who: 'release' } });
const done = await tasker.waitForTask(id, { timeoutMs: 60000 });
console.log(JSON.stringify({ state: done.state, result: done.steps[0].results }));
await tasker.close();
`,
    );
    const out = execFileSync(process.execPath, ['main.js'], { cwd: app, encoding: 'utf8', timeout: 120_000 });
    expect(JSON.parse(out.trim().split('\n').pop()!)).toEqual({ state: 'complete', result: 'hello release' });

    // `tasker init` from the installed package, then the project's own examples and generated tests.
    const project = join(work, 'project');
    execFileSync('mkdir', ['-p', project]);
    execFileSync(join(app, 'node_modules/.bin/tasker'), ['init'], { cwd: project, encoding: 'utf8' });
    expect(existsSync(join(project, 'vitest.config.ts'))).toBe(true);
    npm(['install', '--prefer-offline', '--no-audit', '--no-fund', join(work, packed!.filename)], project);
    const examples = npm(['run', 'examples'], project);
    expect(examples.match(/: complete/g)?.length).toBe(3);
    // A task generated with its handlers and test, and a test generated for it from its template.
    const tasker = (args: string[]) =>
      execFileSync(join(project, 'node_modules/.bin/tasker'), args, { cwd: project, encoding: 'utf8' });
    tasker(['generate', 'task', 'refund', '--namespace', 'payments', '--steps', 'check,pay']);
    expect(tasker(['generate', 'test', 'payments/refund'])).toContain('test/payments_refund.test.ts');
    const tests = execFileSync('npx', ['vitest', 'run'], {
      cwd: project,
      encoding: 'utf8',
      timeout: 240_000,
    });
    // The examples' four tests and the two generated ones, every one passing (vitest colours its summary).
    expect(stripVTControlCharacters(tests)).toMatch(/Tests\s+6 passed \(6\)/);
  },
);
