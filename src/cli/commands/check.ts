/** `tasker validate [path]` and `tasker doctor`. */
import type { Command } from 'commander';
import type { LoadedConfig } from '../../config/load-config.js';
import { type DatabaseDescription, describeDatabase } from '../../db/describe-database.js';
import { migrationStatus } from '../../db/migrate.js';
import { isTaskerError, type Problem } from '../../errors.js';
import { createTasker } from '../../tasker.js';
import { loadWorkflows } from '../../templates/load-templates.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { errorText, type Output, paint } from '../output.js';
import { cliLogger, connectTimeoutOption, type GlobalOptions, readConfig } from '../project.js';

type Runner = (fn: () => Promise<ExitCode>) => Promise<void>;

interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
  readonly problems?: readonly Problem[];
  /** The database check: which database (describeDatabase). */
  readonly database?: DatabaseDescription;
}

async function configCheck(global: GlobalOptions): Promise<{ config: LoadedConfig | null; check: Check }> {
  try {
    const config = await readConfig(global);
    return {
      config,
      check: {
        name: 'config',
        ok: true,
        detail: config.file ? `read ${config.file}` : 'defaults (no config file)',
      },
    };
  } catch (error) {
    if (!isTaskerError(error, 'TASKER_INVALID_CONFIG')) throw error;
    return {
      config: null,
      check: { name: 'config', ok: false, detail: 'invalid', problems: error.details ?? [] },
    };
  }
}

async function templatesCheck(config: LoadedConfig, path?: string): Promise<Check & { templates: string[] }> {
  const loaded = await loadWorkflows({
    templatesDir: path ?? config.workflows.templatesDir,
    handlersDir: config.workflows.handlersDir,
    environment: config.workflows.environment,
  });
  const templates = loaded.templates.map((t) => `${t.namespace}/${t.name}@${t.version}`);
  return {
    name: 'templates',
    ok: loaded.problems.length === 0,
    detail:
      loaded.problems.length === 0
        ? `${templates.length} template(s) valid, handlers loadable: ${templates.join(', ')}`
        : `${loaded.problems.length} problem(s) in ${loaded.files.length} file(s)`,
    problems: loaded.problems,
    templates,
  };
}

function print(output: Output, checks: readonly Check[]) {
  for (const check of checks) {
    output.out(
      `${check.ok ? paint(output, 'green', '✓') : paint(output, 'red', '✗')} ${check.name}: ${check.detail}`,
    );
    for (const p of check.problems ?? []) output.out(`    - ${p.path ? `${p.path}: ` : ''}${p.message}`);
  }
}

export function registerCheck(program: Command, output: Output, run: Runner) {
  program
    .command('validate')
    .description('check the configuration and the task templates (every problem in every file at once)')
    .argument('[path]', 'a template file or directory (default: workflows.templatesDir)')
    .option('--json', 'print { ok, checks } as JSON')
    .addHelpText(
      'after',
      '\nExits 0 when everything is valid, 3 otherwise.\n\nExamples:\n  $ tasker validate\n  $ tasker validate templates/order_processing.yaml --json',
    )
    .action((path: string | undefined, options: { json?: boolean }, command: Command) =>
      run(async () => {
        const { config, check } = await configCheck(command.optsWithGlobals<GlobalOptions>());
        const checks: Check[] = [check];
        if (config) checks.push(await templatesCheck(config, path));
        const ok = checks.every((c) => c.ok);
        if (options.json) output.json({ ok, checks });
        else print(output, checks);
        return ok ? EXIT.OK : EXIT.INVALID;
      }),
    );

  program
    .command('doctor')
    .description(
      'check that config is valid, the database reachable, migrations current and handlers loadable',
    )
    .option('--json', 'print { ok, checks } as JSON')
    .addHelpText(
      'after',
      '\nExits 0 when every check passes, 1 otherwise. Changes nothing.\n\nExamples:\n  $ tasker doctor\n  $ DATABASE_URL=postgres://localhost/app tasker doctor --json',
    )
    .action((options: { json?: boolean }, command: Command) =>
      run(async () => {
        const global = command.optsWithGlobals<GlobalOptions>();
        // A diagnosis answers at once: it tries the database once unless --connect-timeout says otherwise.
        const connectTimeoutMs = connectTimeoutOption(global) ?? 0;
        const { config, check } = await configCheck(global);
        const checks: Check[] = [check];
        if (config) {
          const where = describeDatabase(config.database).text;
          try {
            const tasker = await createTasker({
              ...config.taskerOptions,
              database: { ...config.taskerOptions.database, migrate: false, connectTimeoutMs },
              logger: cliLogger(config, 'silent'),
            });
            try {
              await tasker.database.query('SELECT 1');
              const database = describeDatabase(tasker.config.database, tasker.database.sharing);
              checks.push({ name: 'database', ok: true, detail: `reachable: ${database.text}`, database });
              const status = await migrationStatus(tasker.database, config.database.schema);
              checks.push({
                name: 'migrations',
                ok: status.pending === 0,
                detail:
                  status.pending === 0
                    ? `current (migration ${status.current})`
                    : `${status.pending} pending (at ${status.current} of ${status.latest}); run \`tasker migrate\``,
              });
            } finally {
              await tasker.close();
            }
          } catch (error) {
            checks.push({
              name: 'database',
              ok: false,
              detail: `not reachable: ${where}: ${errorText(error)}`,
            });
          }
          checks.push(await templatesCheck(config));
        }
        const ok = checks.every((c) => c.ok);
        if (options.json) output.json({ ok, checks });
        else print(output, checks);
        return ok ? EXIT.OK : EXIT.FAILED;
      }),
    );
}
