/** The benchmark's outputs: a plain-text table for the terminal and the JSON file. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchReport, MetricSummary } from './runner.js';

export function formatNumber(value: number | null): string {
  if (value === null) return '-';
  const abs = Math.abs(value);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  return value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

function ours(m: MetricSummary, runs: number): string {
  if (m.median === null) return '-';
  const range = runs > 1 ? ` [${formatNumber(m.min)}–${formatNumber(m.max)}]` : '';
  return `${formatNumber(m.median)}${range}`;
}

function target(m: MetricSummary): string {
  return m.target ? `${m.target.op} ${formatNumber(m.target.value)}` : '';
}

function status(m: MetricSummary): string {
  if (m.met === null) return '';
  return m.met ? 'met' : 'MISSED';
}

function peers(m: MetricSummary, measured: boolean): string {
  return m.peers
    .slice(0, measured ? 5 : 3)
    .map((p) => {
      // In one sitting the ratio is the figure to judge by (ours / theirs; for times, below 1 is better).
      const ratio =
        measured && m.median !== null && p.value > 0 ? ` (${formatNumber(m.median / p.value)}x)` : '';
      return `${p.peer} ${formatNumber(p.value)}${ratio}`;
    })
    .join('; ');
}

/** Left-aligned columns separated by two spaces. */
function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return rows
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function renderReport(report: BenchReport): string {
  const out: string[] = [];
  const m = report.machine;
  out.push(
    `Tasker benchmark ${report.startedAt} on ${m.hostname}: ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, ` +
      `Node ${m.node}; load average ${m.loadAverageAtStart.join(' ')} at start, ${m.loadAverageAtEnd.join(' ')} at end`,
  );
  if (m.postgres) out.push(`PostgreSQL: ${m.postgres}`);
  const o = report.options;
  out.push(
    `runs ${o.runs}, scale ${o.scale} (PGlite × ${o.pgliteScale}), concurrency ${o.concurrency} (prefetch ${o.prefetch} in w1 and w1d), workers ${o.workers}, pool ${o.poolSize}`,
  );
  out.push(`Peers: ${report.peersSource}. Cells: median [min–max] of the runs.`);
  for (const backend of report.backends) {
    out.push(
      '',
      `== ${backend.backend === 'pg' ? 'PostgreSQL' : 'PGlite (in-memory)'} (scale ${backend.scale})`,
    );
    if (backend.error) out.push(`   FAILED: ${backend.error}`);
    for (const section of backend.sections) {
      out.push('', `-- ${section.key}. ${section.title}: ${section.description}`);
      for (const r of section.runs) if (r.error) out.push(`   run ${r.run} FAILED: ${r.error}`);
      if (section.summary.length === 0) continue;
      const peerColumn = report.peersMeasured
        ? 'peers (medians of this sitting; ours / theirs)'
        : 'peers (published medians)';
      const rows = [['metric', 'unit', 'ours', 'target', '', peerColumn]];
      for (const s of section.summary) {
        rows.push([
          s.label,
          s.unit,
          ours(s, s.values.length),
          target(s),
          status(s),
          peers(s, report.peersMeasured),
        ]);
      }
      out.push(table(rows));
    }
  }
  const all = report.backends.flatMap((b) => b.sections.flatMap((s) => s.summary));
  const judged = all.filter((s) => s.met !== null);
  if (judged.length > 0) {
    out.push('', `Targets: ${judged.filter((s) => s.met).length} of ${judged.length} met.`);
  }
  out.push(report.ok ? '' : 'Some runs FAILED (see above).');
  return out.join('\n');
}

/** Writes the report as bench-results/<timestamp>.json (or into `dir`); returns the path. */
export function writeReport(report: BenchReport, dir: string): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${report.startedAt.replaceAll(':', '-').replace(/\.\d+Z$/, 'Z')}.json`);
  writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
  return path;
}
