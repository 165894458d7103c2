/** What the metrics scrape reads of the whole cluster (every process on this schema): one query each. */
import type { Analytics } from '../engine/sql/analytics-queries.js';
import { listRateLimits } from '../engine/sql/rate-limit-queries.js';
import type { SqlContext } from '../engine/sql/sql-context.js';
import { countByState, oldestRunningTaskAgeSeconds } from '../engine/sql/status-queries.js';
import type { ClusterGauges } from '../telemetry/metrics.js';

export async function readClusterGauges(
  sql: SqlContext,
  analytics: Pick<Analytics, 'queueStats'>,
): Promise<ClusterGauges> {
  const [queue, counts, oldestRunning, limits] = await Promise.all([
    analytics.queueStats(),
    countByState(sql),
    oldestRunningTaskAgeSeconds(sql),
    listRateLimits(sql),
  ]);
  return {
    ...queue,
    rateLimits: limits.map((l) => ({
      name: l.name,
      tokens: l.tokens,
      effectiveRate: l.effective_rate,
      deferrals: Number(l.deferred_total),
      limited: Number(l.limited_total),
    })),
    oldestRunningTaskAgeSeconds: oldestRunning,
    tasksByState: counts.tasks,
    stepsByState: counts.steps,
  };
}
