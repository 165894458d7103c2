/** The benchmark's command line: options, validation, and the run that prints and saves the report. */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import type { BackendName } from './backend.js';
import { renderReport, writeReport } from './report.js';
import { runBench } from './runner.js';
import { findSections, SECTIONS } from './sections.js';

const DEFAULT_URL = 'postgres://postgres@127.0.0.1:5432/test';
/** Where the peers' harness sits beside a checkout of this project. */
const DEFAULT_PEERS_DIR = '../shared/peers';

function positiveNumber(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0)
      throw new InvalidArgumentError(`${name} must be a positive number, got "${value}"`);
    return n;
  };
}

function positiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0)
      throw new InvalidArgumentError(`${name} must be a positive integer, got "${value}"`);
    return n;
  };
}

function nonNegativeInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0)
      throw new InvalidArgumentError(`${name} must be an integer of 0 or more, got "${value}"`);
    return n;
  };
}

function backendList(value: string): BackendName[] {
  if (value === 'both') return ['pg', 'pglite'];
  if (value === 'pg' || value === 'pglite') return [value];
  throw new InvalidArgumentError(`--backend must be pg, pglite or both, got "${value}"`);
}

function sectionList(value: string): string[] {
  const keys = value
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean);
  const known = SECTIONS.map((s) => s.key);
  const unknown = keys.filter((k) => !known.includes(k));
  if (keys.length === 0 || unknown.length > 0) {
    throw new InvalidArgumentError(
      `unknown section(s) "${unknown.join(', ') || value}"; known: ${known.join(', ')}`,
    );
  }
  return keys;
}

export function buildCommand(): Command {
  return new Command('bench')
    .description('Benchmark the Tasker engine (workloads of the core-engine issue, part 13)')
    .option('--only <sections>', 'comma-separated section keys (see --list)', sectionList)
    .option('--backend <which>', 'pg, pglite or both', backendList, ['pg', 'pglite'] as BackendName[])
    .option('--runs <n>', 'runs of each section', positiveInt('--runs'), 3)
    .option('--scale <x>', 'multiplies every N (e.g. 0.05 for a smoke run)', positiveNumber('--scale'), 1)
    .option(
      '--pglite-scale <x>',
      'further multiplier on PGlite (the smaller run)',
      positiveNumber('--pglite-scale'),
      0.1,
    )
    .option('--concurrency <n>', 'steps each worker runs at once', positiveInt('--concurrency'), 50)
    .option(
      '--prefetch <n>',
      "steps each worker claims beyond --concurrency in the single-step workloads w1 and w1d (sections a and scale), as graphile-worker's local queue in the peers' c50+batching; the others run without, as the peers' do",
      nonNegativeInt('--prefetch'),
      50,
    )
    .option('--workers <n>', 'workers started in this process', positiveInt('--workers'), 1)
    .option('--pool <n>', "the engine's connection pool size on PostgreSQL", positiveInt('--pool'), 10)
    .option('--database-url <url>', 'PostgreSQL URL (default: DATABASE_URL, then a local test database)')
    .option(
      '--history <n>',
      'finished tasks of history in section e (default: 1,000,000 x --scale)',
      positiveInt('--history'),
    )
    .option('--timeout <s>', 'give up on one workload after this many seconds', positiveInt('--timeout'), 600)
    .option(
      '--peers [dir]',
      "also run the peers' harness (a copy of ../shared/peers) in this sitting and print ratios against it",
    )
    .option('--out <dir>', 'where the JSON goes', 'bench-results')
    .option('--list', 'list the sections and exit')
    .option('--quiet', 'no progress lines');
}

export async function main(argv: readonly string[]): Promise<number> {
  // Commander prints the problem itself; bad options exit with 2, help with 0.
  const command = buildCommand().exitOverride();
  try {
    command.parse(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    throw error;
  }
  const o = command.opts<{
    only?: string[];
    backend: BackendName[];
    runs: number;
    scale: number;
    pgliteScale: number;
    concurrency: number;
    prefetch: number;
    workers: number;
    pool: number;
    databaseUrl?: string;
    timeout: number;
    history?: number;
    out: string;
    peers?: string | boolean;
    list?: boolean;
    quiet?: boolean;
  }>();
  if (o.list) {
    for (const s of SECTIONS) console.log(`${s.key}  ${s.title}: ${s.description}`);
    return 0;
  }
  const report = await runBench({
    sections: findSections(o.only ?? null),
    backends: o.backend,
    runs: o.runs,
    scale: o.scale,
    pgliteScale: o.pgliteScale,
    concurrency: o.concurrency,
    prefetch: o.prefetch,
    workers: o.workers,
    databaseUrl: o.databaseUrl ?? process.env.DATABASE_URL ?? DEFAULT_URL,
    poolSize: o.pool,
    timeoutMs: o.timeout * 1000,
    ...(o.history !== undefined ? { historyTasks: o.history } : {}),
    ...(o.peers ? { peers: { dir: o.peers === true ? DEFAULT_PEERS_DIR : o.peers, reps: o.runs } } : {}),
    log: o.quiet ? () => {} : (message) => console.error(message),
  });
  console.log(renderReport(report));
  const path = writeReport(report, o.out);
  console.log(`JSON: ${path}`);
  return report.ok ? 0 : 1;
}
