/**
 * When a schedule fires, pure: the next ticks of a cron expression (in an IANA time zone, DST included,
 * by croner) or of a fixed interval, and which due ticks to fire after a pause or downtime.
 *
 * Catch-up, for ticks that came due while nothing fired them:
 * - `skip` (default): the latest due tick fires when it is at most GRACE_MS late (a busy worker, a
 *   restart); older ones, and a latest one later than that, are skipped;
 * - `once`: the latest due tick fires however late; older ones are skipped;
 * - `all`: every due tick fires, oldest first, up to the schedule's limit (the most recent ones);
 *   the rest are skipped.
 */
import { Cron } from 'croner';

/** How late a tick may fire and still count as on time under `skip`. */
export const GRACE_MS = 60_000;
/** Most ticks walked one by one when counting what was missed (cron every second, after days). */
const MAX_WALK = 10_000;

export type CatchUp = 'skip' | 'once' | 'all';

export interface ScheduleTiming {
  readonly cron: string | null;
  readonly intervalMs: number | null;
  readonly timezone: string;
  /** Interval schedules tick at anchor + k * intervalMs (the schedule's creation). */
  readonly anchor: Date;
}

/** What is wrong with a timing, or null. */
export function timingProblem(t: { cron?: string | null; intervalMs?: number | null; timezone?: string }): {
  path: string;
  message: string;
} | null {
  if ((t.cron == null) === (t.intervalMs == null)) {
    return { path: 'cron', message: 'give either cron or intervalMs' };
  }
  const timezone = t.timezone ?? 'UTC';
  try {
    new Intl.DateTimeFormat('en', { timeZone: timezone });
  } catch {
    return {
      path: 'timezone',
      message: `"${timezone}" is not an IANA time zone (such as Europe/Paris or UTC)`,
    };
  }
  if (t.cron != null) {
    try {
      new Cron(t.cron, { timezone, paused: true }).nextRun();
    } catch (error) {
      return {
        path: 'cron',
        message: `invalid cron expression "${t.cron}": ${(error as Error).message.replace(/^CronPattern: /, '')} (expected 5 fields, or 6 with seconds first, such as "0 2 * * *")`,
      };
    }
  }
  return null;
}

/** The first tick strictly after `after`. */
export function nextTick(t: ScheduleTiming, after: Date): Date {
  if (t.intervalMs != null) {
    const since = after.getTime() - t.anchor.getTime();
    const k = since < 0 ? 0 : Math.floor(since / t.intervalMs) + 1;
    return new Date(t.anchor.getTime() + k * t.intervalMs);
  }
  const next = new Cron(t.cron!, { timezone: t.timezone, paused: true }).nextRun(after);
  if (!next) throw new Error(`cron expression "${t.cron}" has no future tick`);
  return next;
}

/** The next `n` ticks after `after`. */
export function nextTicks(t: ScheduleTiming, after: Date, n: number): Date[] {
  const out: Date[] = [];
  let at = after;
  for (let i = 0; i < n; i++) {
    at = nextTick(t, at);
    out.push(at);
  }
  return out;
}

export interface DuePlan {
  /** Ticks to fire now, oldest first. */
  readonly fire: Date[];
  /** Due ticks not fired (at least this many, when there were more than could be counted). */
  readonly skipped: number;
  /** The first tick after now: the schedule's next_fire_at once these are fired. */
  readonly next: Date;
}

/** What to do with a schedule whose next tick is `nextFireAt`, at `now`. */
export function planDueTicks(
  t: ScheduleTiming,
  nextFireAt: Date,
  now: Date,
  catchUp: CatchUp,
  limit: number,
): DuePlan {
  if (nextFireAt.getTime() > now.getTime()) return { fire: [], skipped: 0, next: nextFireAt };
  const due: Date[] = [nextFireAt];
  let counted = 1;
  let at = nextFireAt;
  let next = nextTick(t, at);
  while (next.getTime() <= now.getTime()) {
    if (counted >= MAX_WALK) {
      // Too many to walk: jump to the present and count the walked ones.
      const latest = lastTickAtOrBefore(t, now);
      if (latest.getTime() > at.getTime()) {
        due.push(latest);
        counted += 1;
      }
      next = nextTick(t, now);
      break;
    }
    at = next;
    due.push(at);
    counted += 1;
    next = nextTick(t, at);
    if (due.length > limit + 1) due.shift();
  }
  const latest = due[due.length - 1]!;
  let fire: Date[];
  if (catchUp === 'all') fire = due.slice(-limit);
  else if (catchUp === 'once' || now.getTime() - latest.getTime() <= GRACE_MS) fire = [latest];
  else fire = [];
  return { fire, skipped: counted - fire.length, next };
}

/** The latest tick at or before `at` (for jumping over a long gap). */
function lastTickAtOrBefore(t: ScheduleTiming, at: Date): Date {
  if (t.intervalMs != null) {
    const k = Math.floor((at.getTime() - t.anchor.getTime()) / t.intervalMs);
    return new Date(t.anchor.getTime() + Math.max(0, k) * t.intervalMs);
  }
  const previous = new Cron(t.cron!, { timezone: t.timezone, paused: true }).previousRuns(
    1,
    new Date(at.getTime() + 1),
  );
  return previous[0] ?? at;
}
