/**
 * Runs the selected sections on the selected backends, `runs` times each, and summarizes every metric
 * (median and [min–max]) next to its target and the peers' published figures.
 */
import { cpus, hostname, loadavg, totalmem } from 'node:os';
import { type BackendName, type BenchBackend, openBackend } from './backend.js';
import { type PeerRun, peerFiguresOf, peerLabelFilter, runPeerSitting } from './peer-sitting.js';
import { PEER_FIGURES, PEERS_SOURCE, type PeerFigure } from './peers.js';
import type { BenchSection, Metric, SectionContext, SectionRun } from './section.js';
import { roundFigure, summarize } from './stats.js';
import { TARGETS, type Target, targetMet } from './targets.js';

export interface BenchOptions {
  readonly sections: readonly BenchSection[];
  readonly backends: readonly BackendName[];
  readonly runs: number;
  /** Multiplies every N. */
  readonly scale: number;
  /** Further multiplier on PGlite (the smaller run). */
  readonly pgliteScale: number;
  readonly concurrency: number;
  /** Steps each worker claims beyond `concurrency` in the single-step drains (execution.prefetch). */
  readonly prefetch: number;
  readonly workers: number;
  readonly databaseUrl: string;
  readonly poolSize: number;
  readonly timeoutMs: number;
  /** Finished tasks of history in section e (default 1,000,000 × scale). */
  readonly historyTasks?: number;
  /** Run the peers' harness (a copy of ../shared/peers) after our sections, `reps` runs each. */
  readonly peers?: { readonly dir: string; readonly reps: number };
  readonly log: (message: string) => void;
}

export interface MetricSummary {
  readonly id: string;
  readonly label: string;
  readonly unit: string;
  readonly better: Metric['better'];
  readonly median: number | null;
  readonly min: number | null;
  readonly max: number | null;
  readonly values: readonly number[];
  /** Targets apply to the PostgreSQL backend only. */
  readonly target: Target | null;
  readonly met: boolean | null;
  readonly peers: readonly PeerFigure[];
}

export interface SectionResult {
  readonly key: string;
  readonly title: string;
  readonly description: string;
  readonly runs: ReadonlyArray<{
    run: number;
    metrics: readonly Metric[];
    details?: unknown;
    error?: string;
  }>;
  readonly summary: readonly MetricSummary[];
}

export interface BackendResult {
  readonly backend: BackendName;
  readonly scale: number;
  readonly error?: string;
  readonly sections: readonly SectionResult[];
}

export interface BenchReport {
  readonly schemaVersion: 1;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly machine: {
    readonly hostname: string;
    readonly cpus: number;
    readonly cpuModel: string;
    readonly memoryGiB: number;
    readonly loadAverageAtStart: readonly number[];
    readonly loadAverageAtEnd: readonly number[];
    readonly node: string;
    readonly platform: string;
    readonly postgres: string | null;
  };
  readonly options: Omit<BenchOptions, 'sections' | 'log'> & { readonly sections: readonly string[] };
  readonly peersSource: string;
  /** The peers' figures were measured in this sitting (`--peers`), not copied from their published table. */
  readonly peersMeasured: boolean;
  /** The peers' runs of this sitting, as their harness reported them. */
  readonly peerRuns?: readonly PeerRun[];
  readonly backends: readonly BackendResult[];
  /** True when every run of every section completed. */
  readonly ok: boolean;
}

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

export function summarizeRuns(runs: SectionResult['runs'], backend: BackendName): MetricSummary[] {
  const order: string[] = [];
  const byId = new Map<string, Metric[]>();
  for (const r of runs) {
    for (const m of r.metrics) {
      if (!byId.has(m.id)) {
        byId.set(m.id, []);
        order.push(m.id);
      }
      byId.get(m.id)!.push(m);
    }
  }
  return order.map((id) => {
    const ms = byId.get(id)!;
    const first = ms[0]!;
    const s = summarize(ms.map((m) => m.value));
    const target = backend === 'pg' ? (TARGETS[id] ?? null) : null;
    return {
      id,
      label: first.label,
      unit: first.unit,
      better: first.better,
      median: s ? roundFigure(s.median) : null,
      min: s ? roundFigure(s.min) : null,
      max: s ? roundFigure(s.max) : null,
      values: s ? s.values.map(roundFigure) : [],
      target,
      met: target && s ? targetMet(target, s.median) : null,
      peers: PEER_FIGURES[id] ?? [],
    };
  });
}

async function postgresVersion(backend: BenchBackend): Promise<string | null> {
  try {
    const env = await backend.openRun();
    try {
      const { rows } = await env.admin.query<{ v: string }>('SELECT version() AS v');
      return rows[0]?.v ?? null;
    } finally {
      await env.dispose();
    }
  } catch {
    return null;
  }
}

export async function runBench(options: BenchOptions): Promise<BenchReport> {
  const startedAt = new Date().toISOString();
  const loadAverageAtStart = loadavg().map((x) => Math.round(x * 100) / 100);
  const results: BackendResult[] = [];
  let ok = true;
  let pgVersion: string | null = null;

  for (const name of options.backends) {
    const scale = name === 'pglite' ? options.scale * options.pgliteScale : options.scale;
    const backend = openBackend(name, { databaseUrl: options.databaseUrl, poolSize: options.poolSize });
    const sections: SectionResult[] = [];
    try {
      if (name === 'pg') {
        pgVersion = await postgresVersion(backend);
        if (!pgVersion) throw new Error(`cannot reach PostgreSQL at ${redact(options.databaseUrl)}`);
      }
      for (const section of options.sections) {
        if (section.backends && !section.backends.includes(name)) continue;
        const shared = new Map<string, { value: Promise<unknown>; dispose: (v: never) => Promise<void> }>();
        const runs: Array<{ run: number; metrics: readonly Metric[]; details?: unknown; error?: string }> =
          [];
        for (let run = 1; run <= options.runs; run++) {
          const log = (message: string) =>
            options.log(`[${name} ${section.key} ${run}/${options.runs}] ${message}`);
          const ctx: SectionContext = {
            backend,
            backendName: name,
            databaseUrl: name === 'pg' ? options.databaseUrl : null,
            poolSize: options.poolSize,
            scale,
            concurrency: options.concurrency,
            prefetch: options.prefetch,
            workers: options.workers,
            run,
            runs: options.runs,
            timeoutMs: options.timeoutMs,
            ...(options.historyTasks !== undefined ? { historyTasks: options.historyTasks } : {}),
            scaled: (n, minimum = 1) => Math.max(minimum, Math.round(n * scale)),
            log,
            shared<T>(key: string, create: () => Promise<T>, dispose: (value: T) => Promise<void>) {
              let entry = shared.get(key);
              if (!entry) {
                entry = { value: create(), dispose: dispose as (v: never) => Promise<void> };
                shared.set(key, entry);
              }
              return entry.value as Promise<T>;
            },
          };
          log(section.title);
          try {
            const r: SectionRun = await section.run(ctx);
            runs.push({ run, metrics: r.metrics, details: r.details });
          } catch (error) {
            ok = false;
            log(`failed: ${errorText(error)}`);
            runs.push({ run, metrics: [], error: errorText(error) });
          }
        }
        for (const { value, dispose } of shared.values()) {
          await value.then((v) => dispose(v as never)).catch(() => {});
        }
        sections.push({
          key: section.key,
          title: section.title,
          description: section.description,
          runs,
          summary: summarizeRuns(runs, name),
        });
      }
      results.push({ backend: name, scale, sections });
    } catch (error) {
      ok = false;
      options.log(`[${name}] failed: ${errorText(error)}`);
      results.push({ backend: name, scale, error: errorText(error), sections });
    } finally {
      await backend.close().catch(() => {});
    }
  }

  let peersSource = PEERS_SOURCE;
  let peerRuns: PeerRun[] | undefined;
  let measured = results;
  const only = options.peers ? peerLabelFilter(options.sections.map((s) => s.key)) : null;
  if (options.peers && !only)
    options.log('--peers: none of the sections run has a peer workload (a, b, c, d)');
  if (options.peers && only) {
    const load = loadavg()
      .map((x) => x.toFixed(2))
      .join(' ');
    try {
      peerRuns = await runPeerSitting({
        dir: options.peers.dir,
        reps: options.peers.reps,
        only,
        log: options.log,
      });
      const better = new Map(
        results.flatMap((b) =>
          b.sections.flatMap((sec) => sec.summary.map((m) => [m.id, m.better] as const)),
        ),
      );
      const figures = peerFiguresOf(peerRuns, (id) => better.get(id) ?? 'higher');
      measured = results.map((b) => ({
        ...b,
        sections: b.sections.map((sec) => ({
          ...sec,
          summary: sec.summary.map((m) =>
            figures[m.id] ? { ...m, peers: figures[m.id]! } : { ...m, peers: [] },
          ),
        })),
      }));
      peersSource = `measured in this sitting: ${options.peers.dir}/run-all.sh, REPS=${options.peers.reps}, load average ${load} at its start (${peerRuns.filter((r) => r.ok).length} of ${peerRuns.length} runs ok)`;
    } catch (error) {
      ok = false;
      options.log(`peers failed: ${errorText(error)}`);
    }
  }

  const { sections, log: _log, ...rest } = options;
  return {
    schemaVersion: 1,
    startedAt,
    finishedAt: new Date().toISOString(),
    machine: {
      hostname: hostname(),
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      loadAverageAtStart,
      loadAverageAtEnd: loadavg().map((x) => Math.round(x * 100) / 100),
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      postgres: pgVersion,
    },
    options: { ...rest, databaseUrl: redact(rest.databaseUrl), sections: sections.map((s) => s.key) },
    peersSource,
    peersMeasured: peerRuns !== undefined,
    ...(peerRuns ? { peerRuns } : {}),
    backends: measured,
    ok,
  };
}

/** Hides a password in a connection string. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}
