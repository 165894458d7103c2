/**
 * Published figures of the PostgreSQL-backed peers, copied from ../shared/peers/RESULTS.md (measured
 * 2026-11-22 on this 2-vCPU machine with PostgreSQL 15.18, stock config; each value is the median of 3
 * runs; method in that file). Keyed by our metric ids so the report can put them side by side. Re-measure
 * them with `cd ../shared/peers && bash run-all.sh`; this table is not updated automatically.
 */
export interface PeerFigure {
  readonly peer: string;
  readonly value: number;
}

export const PEERS_SOURCE = '../shared/peers/RESULTS.md, measured 2026-11-22 (median of 3 runs)';

export const PEER_FIGURES: Readonly<Record<string, readonly PeerFigure[]>> = {
  'w1.tasks_per_s': [
    { peer: 'pg-boss 10.4.2 50w×b50', value: 2627 },
    { peer: 'graphile-worker 0.17.3 c50+batching', value: 1507 },
    { peer: 'BullMQ 6.7.0 on Postgres c10', value: 1139 },
    { peer: 'pg-boss 12.35.0 c2×b50', value: 990 },
    { peer: 'DBOS 5.3.0 queue c50', value: 773 },
  ],
  'w1d.tasks_per_s': [
    { peer: 'graphile-worker 0.17.3 c50+batching', value: 13592 },
    { peer: 'pg-boss 12.35.0 c10×b50', value: 10754 },
    { peer: 'pg-boss 10.4.2 50w×b50', value: 4314 },
    { peer: 'BullMQ 6.7.0 on Postgres c10', value: 2492 },
    { peer: 'DBOS 5.3.0 queue c50', value: 1067 },
  ],
  'w2.chains_per_s': [
    { peer: 'pg-boss 10.4.2 50w×b50', value: 752 },
    { peer: 'DBOS 5.3.0 queue c50', value: 414 },
    { peer: 'pg-boss 12.35.0 tx', value: 412 },
    { peer: 'graphile-worker 0.17.3 c50', value: 344 },
    { peer: 'BullMQ 6.7.0 on Postgres c50', value: 331 },
  ],
  'w2.steps_per_s': [
    { peer: 'pg-boss 10.4.2 50w×b50', value: 2256 },
    { peer: 'DBOS 5.3.0 queue c50', value: 1243 },
    { peer: 'graphile-worker 0.17.3 c50', value: 1031 },
  ],
  'w2.handoff_p50_ms': [
    { peer: 'DBOS 5.3.0 queue c50', value: 17.32 },
    { peer: 'graphile-worker 0.17.3 c50', value: 28.19 },
    { peer: 'pg-boss 12.35.0 tx', value: 82.2 },
    { peer: 'pg-boss 10.4.2 50w×b50', value: 381 },
  ],
  'w2.handoff_p95_ms': [
    { peer: 'DBOS 5.3.0 queue c50', value: 33.68 },
    { peer: 'graphile-worker 0.17.3 c50', value: 45.16 },
    { peer: 'pg-boss 10.4.2 50w×b50', value: 453 },
  ],
  'w3.diamonds_per_s': [
    { peer: 'pg-boss 10.4.2 50w×b50', value: 392 },
    { peer: 'pg-boss 12.35.0 tx', value: 326 },
    { peer: 'DBOS 5.3.0 queue c50', value: 279 },
    { peer: 'graphile-worker 0.17.3 c50', value: 257 },
    { peer: 'BullMQ 6.7.0 on Postgres c50', value: 239 },
  ],
  'w3.steps_per_s': [
    { peer: 'pg-boss 10.4.2 50w×b50', value: 1568 },
    { peer: 'DBOS 5.3.0 queue c50', value: 1117 },
    { peer: 'graphile-worker 0.17.3 c50', value: 1030 },
  ],
  'w3.join_p50_ms': [
    { peer: 'DBOS 5.3.0 queue c50', value: 26.87 },
    { peer: 'graphile-worker 0.17.3 c50', value: 41.15 },
    { peer: 'pg-boss 12.35.0 tx', value: 143 },
    { peer: 'pg-boss 10.4.2 50w×b50', value: 1014 },
  ],
  'w3.join_p95_ms': [
    { peer: 'DBOS 5.3.0 queue c50', value: 56.88 },
    { peer: 'graphile-worker 0.17.3 c50', value: 71.72 },
    { peer: 'pg-boss 10.4.2 50w×b50', value: 1043 },
  ],
  'w2s.handoff_p50_ms': [
    { peer: 'graphile-worker 0.17.3 c50', value: 1.41 },
    { peer: 'DBOS 5.3.0 direct', value: 1.51 },
    { peer: 'DBOS 5.3.0 queue c50', value: 1.6 },
    { peer: 'BullMQ 6.7.0 on Postgres c50', value: 1.66 },
    { peer: 'pg-boss 12.35.0 tx', value: 6.56 },
  ],
  'w2s.handoff_p95_ms': [
    { peer: 'BullMQ 6.7.0 on Postgres c50', value: 3.56 },
    { peer: 'DBOS 5.3.0 direct', value: 4.11 },
    { peer: 'graphile-worker 0.17.3 c50', value: 4.45 },
    { peer: 'DBOS 5.3.0 queue c50', value: 4.55 },
  ],
  'w2s.chains_per_s': [
    { peer: 'graphile-worker 0.17.3 c50', value: 160 },
    { peer: 'DBOS 5.3.0 direct', value: 148 },
    { peer: 'BullMQ 6.7.0 on Postgres c50', value: 129 },
  ],
};
