/**
 * A Database that counts round trips, by kind, for the cost figures (part f). A round trip is one
 * statement sent and answered: a query, an exec script, and in a transaction BEGIN and COMMIT as well
 * as each statement inside. Dispatch calls (claim_steps, finish_steps) are also timed, for the claim
 * latency figures (part e). LISTEN traffic is pushed by the server and not counted.
 */
import type { Database, Queryable, QueryResult } from '../db/database.js';

export type RoundTripKind = 'claim' | 'finish' | 'create' | 'other';

export interface RoundTripCounts {
  claim: number;
  finish: number;
  create: number;
  other: number;
  /** Of `other`: BEGIN and COMMIT/ROLLBACK of transactions. */
  transactionControl: number;
}

export interface CountingDatabase extends Database {
  /** Counts since the last reset. */
  counts(): RoundTripCounts;
  /** Durations (ms) of dispatch round trips (claim_steps and finish_steps calls) since the last reset. */
  dispatchDurations(): { claim: number[]; finish: number[] };
  reset(): void;
  /** Sum of every kind. */
  total(): number;
}

/** What a statement is, from its text (the engine's statements name the function they call). */
export function classifyStatement(text: string): RoundTripKind {
  if (text.includes('claim_steps(')) return 'claim';
  if (text.includes('finish_steps(')) return 'finish';
  if (/create_tasks?\(|INSERT INTO\s+\S+\.("?)tasks\1\s/i.test(text)) return 'create';
  return 'other';
}

function emptyCounts(): RoundTripCounts {
  return { claim: 0, finish: 0, create: 0, other: 0, transactionControl: 0 };
}

export function countingDatabase(inner: Database, options: { closeInner?: boolean } = {}): CountingDatabase {
  let counts = emptyCounts();
  let claimMs: number[] = [];
  let finishMs: number[] = [];

  const timed = async <Row>(
    target: Queryable,
    text: string,
    params: readonly unknown[] | undefined,
  ): Promise<QueryResult<Row>> => {
    const kind = classifyStatement(text);
    counts[kind]++;
    if (kind !== 'claim' && kind !== 'finish') return target.query<Row>(text, params);
    const started = performance.now();
    const result = await target.query<Row>(text, params);
    (kind === 'claim' ? claimMs : finishMs).push(performance.now() - started);
    return result;
  };

  return {
    kind: inner.kind,
    get maxConnections() {
      return inner.maxConnections;
    },
    query: (text, params) => timed(inner, text, params),
    async exec(sql) {
      counts.other++;
      await inner.exec(sql);
    },
    async transaction(fn) {
      counts.other += 2;
      counts.transactionControl += 2;
      return inner.transaction((tx) =>
        fn({
          query: (text, params) => timed(tx, text, params),
          async exec(sql) {
            counts.other++;
            await tx.exec(sql);
          },
        }),
      );
    },
    listen: (channels, onNotification, onReconnect) => inner.listen(channels, onNotification, onReconnect),
    poolStats: () => inner.poolStats(),
    async close() {
      if (options.closeInner !== false) await inner.close();
    },
    counts: () => ({ ...counts }),
    dispatchDurations: () => ({ claim: [...claimMs], finish: [...finishMs] }),
    reset() {
      counts = emptyCounts();
      claimMs = [];
      finishMs = [];
    },
    total: () => counts.claim + counts.finish + counts.create + counts.other,
  };
}
