/** `tasker init [dir]` and `tasker generate task NAME`: write a starting point, never overwrite silently. */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { CliError, EXIT, type ExitCode } from '../exit-codes.js';
import type { Output } from '../output.js';
import { type GlobalOptions, readConfig } from '../project.js';

type Runner = (fn: () => Promise<ExitCode>) => Promise<void>;

/** The package root (two levels above dist/cli/commands or src/cli/commands). */
const PACKAGE_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SCAFFOLD = join(PACKAGE_ROOT, 'scaffold/project');
/** `init --code`: these files replace the YAML project's templates, handlers, config, tsconfig and README. */
const SCAFFOLD_CODE = join(PACKAGE_ROOT, 'scaffold/code-project');
const YAML_ONLY = /^(templates|handlers)\//;
/** npm drops .gitignore files from packages, so the scaffold keeps it as `gitignore`. */
const RENAMES: Record<string, string> = { gitignore: '.gitignore' };

function packageVersion(): string {
  return (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string })
    .version;
}

function scaffoldFiles(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? scaffoldFiles(join(dir, entry.name), `${prefix}${entry.name}/`)
      : [`${prefix}${entry.name}`],
  );
}

/** Writes files, refusing (before writing anything) when one exists and `force` is not set. */
function writeAll(root: string, files: ReadonlyArray<[string, string]>, force: boolean): string[] {
  const existing = files.filter(([path]) => existsSync(join(root, path))).map(([path]) => path);
  if (existing.length > 0 && !force) {
    throw new CliError(
      EXIT.CONFLICT,
      `these files exist already (use --force to overwrite): ${existing.join(', ')}`,
    );
  }
  for (const [path, text] of files) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return files.map(([path]) => path);
}

/** The version range of a dependency of this package (a code project needs the same zod major). */
function dependencyRange(name: string): string {
  const pkg = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  return pkg.dependencies[name] ?? 'latest';
}

function projectPackageJson(name: string, code: boolean): string {
  const safe =
    name
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, '-')
      .replace(/^[._-]+/, '') || 'tasker-app';
  return `${JSON.stringify(
    {
      name: safe,
      version: '0.1.0',
      private: true,
      type: 'module',
      scripts: {
        examples: 'node scripts/run-examples.mjs',
        api: 'node scripts/stand-in-api.mjs',
        validate: 'tasker validate',
        test: 'vitest run',
        ...(code ? { typecheck: 'tsc -p .' } : {}),
      },
      dependencies: {
        'tasker-ts': `^${packageVersion()}`,
        ...(code ? { zod: dependencyRange('zod') } : {}),
      },
      devDependencies: { vitest: '^4.1.0', typescript: '^5.9.0', '@types/node': '^20.19.0' },
    },
    null,
    2,
  )}\n`;
}

const camel = (text: string) => text.replace(/[-_.]+([A-Za-z0-9])/g, (_, c: string) => c.toUpperCase());
const pascal = (text: string) => camel(text).replace(/^./, (c) => c.toUpperCase());
const STEP_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function registerScaffold(program: Command, output: Output, run: Runner) {
  program
    .command('init')
    .description('create a working project: config, templates, handlers, a test and three example workflows')
    .argument('[dir]', 'where to create it', '.')
    .option('--force', 'overwrite files that exist')
    .option(
      '--code',
      'write the workflows in TypeScript with defineTask (typed context and parents) instead of YAML',
    )
    .addHelpText(
      'after',
      `
The examples (e-commerce order processing, inventory stock management, customer onboarding) call a
local stand-in API, which \`npm run examples\` and \`npm test\` start themselves. With --code they are
TypeScript modules in workflows/ (zod context schemas; each step's parents typed by what they return).

Examples:
  $ npx -p tasker-ts tasker init my-workflows && cd my-workflows && npm install
  $ npx -p tasker-ts tasker init --code my-workflows
  $ npm run examples
  $ npm run api & npx tasker run ecommerce/order_processing --context '{"cart_id": 1, "customer_email": "ada@example.com"}'`,
    )
    .action((dir: string, options: { force?: boolean; code?: boolean }) =>
      run(async () => {
        const root = resolve(dir);
        const code = options.code === true;
        const read = (base: string, path: string): [string, string] => [
          RENAMES[path] ?? path,
          readFileSync(join(base, path), 'utf8'),
        ];
        const overrides = code ? scaffoldFiles(SCAFFOLD_CODE) : [];
        const files: Array<[string, string]> = [
          ...scaffoldFiles(SCAFFOLD)
            .filter((path) => !(code && (YAML_ONLY.test(path) || overrides.includes(path))))
            .map((path) => read(SCAFFOLD, path)),
          ...overrides.map((path) => read(SCAFFOLD_CODE, path)),
        ];
        const hasPackage = existsSync(join(root, 'package.json'));
        if (!hasPackage) files.push(['package.json', projectPackageJson(basename(root), code)]);
        const written = writeAll(root, files, options.force === true);
        output.out(`created ${written.length} files in ${root}:`);
        for (const path of written.sort()) output.out(`  ${path}`);
        const cd = relative(process.cwd(), root);
        output.out(`
next:
  ${cd ? `cd ${cd} && ` : ''}npm install${hasPackage ? ` tasker-ts@^${packageVersion()}${code ? ` zod@${dependencyRange('zod')}` : ''} && npm install -D vitest${code ? ' typescript' : ''}` : ''}${code ? '\n  npm run typecheck         # the workflows are typed: context and parents' : ''}
  npm run examples          # starts the stand-in API and runs the three example workflows
  npx tasker validate       # checks config and templates
  npm test`);
        return EXIT.OK;
      }),
    );

  const generate = program.command('generate').description('write new files from a template');
  generate
    .command('task')
    .description('write a task template, handler stubs (clearly marked placeholders) and a test that runs it')
    .argument('<name>', 'the task name, e.g. order_processing')
    .option('--namespace <ns>', 'its namespace', 'default')
    .option('--version <version>', 'its version', '0.1.0')
    .option(
      '--steps <list>',
      'comma-separated step names, run one after the other',
      'fetch_data,process_data,complete_task',
    )
    .option('--description <text>', 'what the task does')
    .option('--force', 'overwrite files that exist')
    .addHelpText(
      'after',
      '\nFiles go to workflows.templatesDir, workflows.handlersDir (or ./handlers) and ./test.\n\nExamples:\n  $ tasker generate task refund_payment --namespace payments --version 1.0.0 --steps validate_refund,issue_refund,notify_customer',
    )
    .action(
      (
        name: string,
        options: { namespace: string; version: string; steps: string; description?: string; force?: boolean },
        command: Command,
      ) =>
        run(async () => {
          const steps = options.steps
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean);
          for (const value of [name, options.namespace, ...steps]) {
            if (!STEP_NAME.test(value)) {
              throw new CliError(
                EXIT.USAGE,
                `"${value}" is not a valid name: expected letters, digits and "_", starting with a letter or "_"`,
              );
            }
          }
          if (steps.length === 0) throw new CliError(EXIT.USAGE, '--steps expects at least one step name');
          if (new Set(steps).size !== steps.length)
            throw new CliError(EXIT.USAGE, '--steps lists a step twice');
          const config = await readConfig(command.optsWithGlobals<GlobalOptions>());
          const cwd = process.cwd();
          const templatesDir = config.workflows.templatesDir;
          const handlersDir = config.workflows.handlersDir ?? resolve(cwd, 'handlers');
          const handlerFile = join(handlersDir, `${name}.ts`);
          const exportName = (step: string) => `${camel(name)}${pascal(step)}`;
          // By name when the config loads handlersDir; by module path otherwise.
          const reference = (step: string) =>
            config.workflows.handlersDir
              ? exportName(step)
              : `${relative(templatesDir, handlerFile)
                  .replace(/\\/g, '/')
                  .replace(/^(?!\.)/, './')}#${exportName(step)}`;

          const template = [
            `# ${options.namespace}/${name}@${options.version}: generated by \`tasker generate task\`.`,
            `name: ${name}`,
            `namespace_name: ${options.namespace}`,
            `version: ${options.version}`,
            `description: ${JSON.stringify(options.description ?? `TODO: describe ${name}`)}`,
            'schema:',
            '  type: object',
            'step_templates:',
            ...steps.flatMap((step, i) => [
              `  - name: ${step}`,
              `    handler: ${reference(step)}`,
              ...(i > 0 ? [`    depends_on_step: ${steps[i - 1]}`] : []),
            ]),
            '',
          ].join('\n');

          const handlers = [
            `/** Step handlers of ${options.namespace}/${name}. Each returns a PLACEHOLDER result: replace it with real work. */`,
            "import type { StepContext } from 'tasker-ts';",
            '',
            ...steps.flatMap((step, i) => [
              `export async function ${exportName(step)}({ context, parents }: StepContext) {`,
              `  // TODO(${step}): do the real work here; throw PermanentError for failures a retry cannot fix.`,
              `  return { placeholder: true, step: '${step}', received: ${i === 0 ? 'context' : `parents.${steps[i - 1]}`} };`,
              '}',
              '',
            ]),
          ].join('\n');

          const test = [
            "import { createTasker, loadConfig, loadWorkflows, registerWorkflows } from 'tasker-ts';",
            "import { expect, it } from 'vitest';",
            '',
            `it('runs ${options.namespace}/${name} to completion', async () => {`,
            '  const config = await loadConfig();',
            '  // An in-memory database per test: nothing to set up or clean.',
            '  const tasker = await createTasker({ ...config.taskerOptions, database: { inMemory: true } });',
            '  try {',
            '    const loaded = await loadWorkflows({ ...config.workflows, environment: "test" });',
            '    registerWorkflows(tasker, loaded);',
            `    const task = await tasker.createTask({ namespace: '${options.namespace}', name: '${name}', version: '${options.version}', context: {} });`,
            '    await tasker.startWorker();',
            '    const done = await tasker.waitForTask(task.id, { timeoutMs: 30_000 });',
            "    expect(done.state).toBe('complete');",
            `    expect(done.steps.map((s) => s.name)).toEqual(${JSON.stringify(steps)});`,
            '  } finally {',
            '    await tasker.close();',
            '  }',
            '});',
            '',
          ].join('\n');

          const files: Array<[string, string]> = [
            [relative(cwd, join(templatesDir, `${name}.yaml`)), template],
            [relative(cwd, handlerFile), handlers],
            [join('test', `${name}.test.ts`), test],
          ];
          for (const path of writeAll(cwd, files, options.force === true)) output.out(`wrote ${path}`);
          output.out(
            `\nnext: npx tasker validate && npx tasker run ${options.namespace}/${name}@${options.version}`,
          );
          return EXIT.OK;
        }),
    );
}
