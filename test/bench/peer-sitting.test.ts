/**
 * `npm run bench -- --peers`: the peers' harness runs in the same sitting, from a temporary copy, for the
 * workloads of the sections that ran, and the report compares against the medians it measured. The
 * harness here is a stand-in with the same interface as ../shared/peers/run-all.sh (REPS, ONLY, OUT; one
 * JSON line per run), run as a real child process.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parsePeerRuns, peerFiguresOf, peerLabelFilter } from '../../src/bench/peer-sitting.js';
import { renderReport } from '../../src/bench/report.js';
import { runBench } from '../../src/bench/runner.js';
import { findSections } from '../../src/bench/sections.js';

const harness = mkdtempSync(join(tmpdir(), 'fake-peers-'));
writeFileSync(join(harness, 'package.json'), '{ "name": "fake-peers", "private": true }\n');
writeFileSync(
  join(harness, 'run-all.sh'),
  `set -eu
# Emits what the real harness would for the labels ONLY lets through: REPS runs each, one JSON line per run.
emit() { if [[ "$1" =~ $ONLY ]]; then echo "$2" >> "$OUT"; fi; }
for rep in $(seq 1 "$REPS"); do
  emit "W1 graphile-worker c50+batching" "{\\"label\\":\\"W1 graphile-worker c50+batching\\",\\"peer\\":\\"graphile-worker\\",\\"version\\":\\"0.17.3\\",\\"ok\\":true,\\"wf_per_s\\":$((1000 * rep))}"
  emit "W1d pg-boss@12 c10xb50" "{\\"label\\":\\"W1d pg-boss@12 c10xb50\\",\\"peer\\":\\"pg-boss@12\\",\\"version\\":\\"12.35.0\\",\\"ok\\":$([[ $rep == 2 ]] && echo false || echo true),\\"wf_per_s\\":$((4000 + 100 * rep))}"
  emit "W2 graphile-worker c50" '{"label":"W2 graphile-worker c50","ok":true,"wf_per_s":1}'
  emit "W1 something else" '{"label":"W1 something else","ok":true,"wf_per_s":1}'
done
echo "ran with REPS=$REPS"
`,
);
afterAll(() => rmSync(harness, { recursive: true, force: true }));

describe('the peers in the same sitting', () => {
  it('filters the harness to the workloads of the sections run', () => {
    expect(peerLabelFilter(['e', 'flow'])).toBeNull();
    const only = new RegExp(peerLabelFilter(['a'])!);
    expect(only.test('W1 graphile-worker c50+batching')).toBe(true);
    expect(only.test('W1d pg-boss@12 c10xb50')).toBe(true);
    expect(only.test('W1 graphile-worker c10')).toBe(false);
    expect(only.test('W2 graphile-worker c50')).toBe(false);
    expect(new RegExp(peerLabelFilter(['d'])!).test('W2s dbos queue c50')).toBe(true);
  });

  it('takes the median of the successful runs, best first, and skips lines that are not runs', () => {
    const runs = parsePeerRuns(
      [
        'not json',
        '{"label":"W2 a c50","peer":"a","version":"1","ok":true,"wf_per_s":10,"lat_p50_ms":5}',
        '{"label":"W2 a c50","peer":"a","version":"1","ok":true,"wf_per_s":30,"lat_p50_ms":7}',
        '{"label":"W2 a c50","peer":"a","version":"1","ok":false,"wf_per_s":999}',
        '{"label":"W2 b@2 c10 tx","peer":"b@2","version":"2.1","ok":true,"wf_per_s":50,"lat_p50_ms":3}',
        '{"ok":true}',
      ].join('\n'),
    );
    expect(runs).toHaveLength(4);
    const figures = peerFiguresOf(runs, (id) => (id.endsWith('_ms') ? 'lower' : 'higher'));
    expect(figures['w2.chains_per_s']).toEqual([
      { peer: 'b 2.1 c10 tx', value: 50 },
      { peer: 'a 1 c50', value: 20 },
    ]);
    expect(figures['w2.handoff_p50_ms']).toEqual([
      { peer: 'b 2.1 c10 tx', value: 3 },
      { peer: 'a 1 c50', value: 6 },
    ]);
  });

  it('runs the harness from a copy after our sections and prints ratios against it', {
    timeout: 300_000,
  }, async () => {
    const logs: string[] = [];
    const report = await runBench({
      sections: findSections(['a']),
      backends: ['pglite'],
      runs: 3,
      scale: 0.002,
      pgliteScale: 1,
      concurrency: 10,
      prefetch: 0,
      workers: 1,
      databaseUrl: 'postgres://unused',
      poolSize: 2,
      timeoutMs: 120_000,
      peers: { dir: harness, reps: 3 },
      log: (line) => logs.push(line),
    });
    expect(report.ok).toBe(true);
    expect(report.peersMeasured).toBe(true);
    expect(report.peersSource).toContain('measured in this sitting');
    expect(report.peerRuns?.map((r) => r.label).sort()).toEqual([
      'W1 graphile-worker c50+batching',
      'W1 graphile-worker c50+batching',
      'W1 graphile-worker c50+batching',
      'W1d pg-boss@12 c10xb50',
      'W1d pg-boss@12 c10xb50',
      'W1d pg-boss@12 c10xb50',
    ]);
    expect(logs.some((l) => l.includes('ran with REPS=3'))).toBe(true);
    const summary = report.backends[0]!.sections[0]!.summary;
    const w1 = summary.find((m) => m.id === 'w1.tasks_per_s')!;
    expect(w1.peers).toEqual([{ peer: 'graphile-worker 0.17.3 c50+batching', value: 2000 }]);
    // The failed second run is left out: median of 4100 and 4300.
    expect(summary.find((m) => m.id === 'w1d.tasks_per_s')!.peers).toEqual([
      { peer: 'pg-boss 12.35.0 c10xb50', value: 4200 },
    ]);
    // Published figures are not mixed in when the peers were measured.
    expect(summary.find((m) => m.id === 'w1.enqueue_s')!.peers).toEqual([]);
    const text = renderReport(report);
    expect(text).toContain('peers (medians of this sitting; ours / theirs)');
    expect(text).toMatch(/graphile-worker 0\.17\.3 c50\+batching 2,000 \([\d.,]+x\)/);
    // The copy is removed; the harness itself is left as it was.
    expect(readdirSync(harness).sort()).toEqual(['package.json', 'run-all.sh']);
  });
});
