/**
 * `--peers`: runs the peers' own harness (../shared/peers/run-all.sh: graphile-worker, pg-boss, DBOS,
 * BullMQ) in the same sitting as our sections, so the report's ratios compare figures taken minutes apart
 * on the same machine, not against figures published on another day. The harness is copied to a
 * temporary directory and installed there (its lockfile does not `npm ci` on every Node version), run for
 * the workloads of the sections that ran, and its runs (one JSON line each) summarized as medians.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PeerFigure } from './peers.js';

/** One line of the harness's results/raw.jsonl (the fields we read). */
export interface PeerRun {
  readonly label: string;
  readonly peer?: string;
  readonly version?: string;
  readonly ok: boolean;
  readonly wf_per_s?: number;
  readonly steps_per_s?: number;
  readonly lat_p50_ms?: number;
  readonly lat_p95_ms?: number;
  readonly join_p50_ms?: number;
  readonly join_p95_ms?: number;
}

type RunField = 'wf_per_s' | 'steps_per_s' | 'lat_p50_ms' | 'lat_p95_ms' | 'join_p50_ms' | 'join_p95_ms';

interface PeerWorkload {
  /** The label prefix in run-all.sh. */
  readonly tag: string;
  /** Our section that measures it. */
  readonly section: string;
  /** Our metric id -> the run's field. */
  readonly figures: ReadonlyArray<readonly [string, RunField]>;
  /** The settings compared by default: each peer's best on this machine (../shared/peers/RESULTS.md). */
  readonly settings: readonly string[];
}

const QUEUE_SETTINGS = [
  'graphile-worker c50+batching',
  'pg-boss w50xb50',
  'pg-boss@12 c10xb50',
  'dbos queue c50',
  'bullmq-redis c50',
];
const FLOW_SETTINGS = [
  'graphile-worker c50',
  'pg-boss w50xb50',
  'pg-boss@12 c10xb50 tx',
  'dbos queue c50',
  'bullmq-redis c50',
];

export const PEER_WORKLOADS: readonly PeerWorkload[] = [
  { tag: 'W1', section: 'a', figures: [['w1.tasks_per_s', 'wf_per_s']], settings: QUEUE_SETTINGS },
  { tag: 'W1d', section: 'a', figures: [['w1d.tasks_per_s', 'wf_per_s']], settings: QUEUE_SETTINGS },
  {
    tag: 'W2',
    section: 'b',
    figures: [
      ['w2.chains_per_s', 'wf_per_s'],
      ['w2.steps_per_s', 'steps_per_s'],
      ['w2.handoff_p50_ms', 'lat_p50_ms'],
      ['w2.handoff_p95_ms', 'lat_p95_ms'],
    ],
    settings: FLOW_SETTINGS,
  },
  {
    tag: 'W3',
    section: 'c',
    figures: [
      ['w3.diamonds_per_s', 'wf_per_s'],
      ['w3.steps_per_s', 'steps_per_s'],
      ['w3.join_p50_ms', 'join_p50_ms'],
      ['w3.join_p95_ms', 'join_p95_ms'],
    ],
    settings: FLOW_SETTINGS,
  },
  {
    tag: 'W2s',
    section: 'd',
    figures: [
      ['w2s.chains_per_s', 'wf_per_s'],
      ['w2s.handoff_p50_ms', 'lat_p50_ms'],
      ['w2s.handoff_p95_ms', 'lat_p95_ms'],
    ],
    settings: FLOW_SETTINGS,
  },
];

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The harness's ONLY filter for the sections that ran; null when none of them has a peer workload. */
export function peerLabelFilter(sectionKeys: readonly string[]): string | null {
  const labels = PEER_WORKLOADS.filter((w) => sectionKeys.includes(w.section)).flatMap((w) =>
    w.settings.map((s) => `${w.tag} ${s}`),
  );
  return labels.length === 0 ? null : `^(${labels.map(escapeRegExp).join('|')})$`;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Our metric id -> the peers' medians over their successful runs, best first. A peer is named by the
 * package and version it reported and its setting, e.g. `graphile-worker 0.17.3 c50+batching`.
 */
export function peerFiguresOf(
  runs: readonly PeerRun[],
  better: (metricId: string) => 'higher' | 'lower',
): Record<string, PeerFigure[]> {
  const byLabel = new Map<string, PeerRun[]>();
  for (const run of runs) {
    if (!run.ok) continue;
    byLabel.set(run.label, [...(byLabel.get(run.label) ?? []), run]);
  }
  const figures: Record<string, PeerFigure[]> = {};
  for (const workload of PEER_WORKLOADS) {
    for (const [label, labelRuns] of byLabel) {
      if (!label.startsWith(`${workload.tag} `)) continue;
      const [name = '', ...rest] = label.slice(workload.tag.length + 1).split(' ');
      const version = labelRuns[0]!.version;
      const peer = [name.replace(/@.*$/, ''), version, ...rest].filter(Boolean).join(' ');
      for (const [metricId, field] of workload.figures) {
        const values = labelRuns.map((r) => r[field]).filter((v): v is number => typeof v === 'number');
        if (values.length === 0) continue;
        const list = figures[metricId] ?? [];
        list.push({ peer, value: median(values) });
        figures[metricId] = list;
      }
    }
  }
  for (const [metricId, list] of Object.entries(figures)) {
    const sign = better(metricId) === 'higher' ? -1 : 1;
    list.sort((a, b) => sign * (a.value - b.value));
  }
  return figures;
}

export function parsePeerRuns(text: string): PeerRun[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .flatMap((line) => {
      try {
        const row = JSON.parse(line) as Partial<PeerRun>;
        return typeof row.label === 'string' ? [{ ...row, label: row.label, ok: row.ok === true }] : [];
      } catch {
        return [];
      }
    });
}

function exec(
  command: string,
  args: readonly string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
) {
  return new Promise<void>((resolve, reject) => {
    const child = spawn(command, [...args], {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const forward = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n'))
        if (line.trim()) log(`  [peers] ${line.slice(0, 200)}`);
    };
    child.stdout.on('data', forward);
    child.stderr.on('data', forward);
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} exited with ${code}`)),
    );
  });
}

export interface PeerSittingOptions {
  /** The harness (a copy of ../shared/peers). */
  readonly dir: string;
  readonly reps: number;
  /** The harness's ONLY regex. */
  readonly only: string;
  readonly log: (message: string) => void;
}

/** Runs the harness in a temporary copy; returns its runs. */
export async function runPeerSitting(options: PeerSittingOptions): Promise<PeerRun[]> {
  if (!existsSync(join(options.dir, 'run-all.sh'))) {
    throw new Error(`--peers: ${options.dir} has no run-all.sh (expected a copy of ../shared/peers)`);
  }
  const work = mkdtempSync(join(tmpdir(), 'tasker-peers-'));
  try {
    cpSync(options.dir, work, {
      recursive: true,
      filter: (source) => !/[/\\](node_modules|results)$/.test(source),
    });
    options.log(`peers: npm install in ${work}`);
    await exec('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], work, {}, options.log);
    const out = join(work, 'raw.jsonl');
    options.log(`peers: run-all.sh, REPS=${options.reps}, ONLY=${options.only}`);
    await exec(
      'bash',
      ['run-all.sh'],
      work,
      { REPS: String(options.reps), ONLY: options.only, OUT: out },
      options.log,
    );
    return existsSync(out) ? parsePeerRuns(readFileSync(out, 'utf8')) : [];
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
