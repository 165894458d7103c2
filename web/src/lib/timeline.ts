/**
 * A Gantt-style timeline of step attempts, built from a task's audit trail. Each step's transitions are
 * replayed in order: entering in_progress opens an attempt; leaving it closes the attempt with the state
 * it went to; waiting_for_retry opens a backoff gap that the next attempt closes. Segments still open are
 * drawn up to `now`.
 */
import { type AuditEntry, isStepTransition, type StepState, type StepTransition } from '../api/types.js';

export interface TimelineSegment {
  readonly kind: 'attempt' | 'backoff';
  readonly start: number;
  readonly end: number;
  /** Still running (attempt) or still waiting (backoff) at `now`. */
  readonly open: boolean;
  /** Attempt number, counted over the whole trail (task retries included). */
  readonly attempt: number;
  /** The state an attempt ended in (waiting_for_retry = failed, retry scheduled). */
  readonly outcome: StepState | null;
}

export interface TimelineRow {
  readonly stepId: number;
  readonly stepName: string;
  readonly segments: readonly TimelineSegment[];
  readonly attempts: number;
  /** Time from the first attempt's start to the last segment's end, 0 if the step never ran. */
  readonly spanMs: number;
}

export interface Timeline {
  readonly start: number;
  readonly end: number;
  readonly rows: readonly TimelineRow[];
}

interface MutableSegment {
  kind: 'attempt' | 'backoff';
  start: number;
  end: number;
  open: boolean;
  attempt: number;
  outcome: StepState | null;
}

const time = (entry: { createdAt: string }) => Date.parse(entry.createdAt);

function byTime(a: StepTransition, b: StepTransition): number {
  return time(a) - time(b) || a.sortKey - b.sortKey;
}

function replay(transitions: readonly StepTransition[], now: number): MutableSegment[] {
  const segments: MutableSegment[] = [];
  let open: MutableSegment | null = null;
  let attempt = 0;
  const close = (at: number, outcome: StepState | null) => {
    if (!open) return;
    open.end = Math.max(open.start, at);
    open.open = false;
    if (open.kind === 'attempt') open.outcome = outcome;
    open = null;
  };
  for (const t of transitions) {
    const at = time(t);
    if (t.toState === 'in_progress') {
      close(at, null);
      attempt += 1;
      open = { kind: 'attempt', start: at, end: at, open: true, attempt, outcome: null };
      segments.push(open);
    } else if (t.toState === 'waiting_for_retry') {
      close(at, 'waiting_for_retry');
      open = { kind: 'backoff', start: at, end: at, open: true, attempt, outcome: null };
      segments.push(open);
    } else {
      close(at, t.toState);
    }
  }
  if (open !== null) (open as MutableSegment).end = Math.max((open as MutableSegment).start, now);
  return segments;
}

/**
 * @param order steps in the order to show them (e.g. by position); steps that never ran get empty rows.
 */
export function buildTimeline(
  trail: readonly AuditEntry[],
  now: number,
  order: ReadonlyArray<{ readonly id: number; readonly name: string }> = [],
): Timeline {
  const byStep = new Map<number, StepTransition[]>();
  for (const entry of trail) {
    if (!isStepTransition(entry)) continue;
    const list = byStep.get(entry.stepId) ?? [];
    list.push(entry);
    byStep.set(entry.stepId, list);
  }
  const names = new Map<number, string>(order.map((s) => [s.id, s.name]));
  for (const [id, list] of byStep) if (!names.has(id)) names.set(id, list[0]?.stepName ?? `step ${id}`);

  const rows: TimelineRow[] = [];
  let start = Number.POSITIVE_INFINITY;
  let end = Number.NEGATIVE_INFINITY;
  for (const [id, name] of names) {
    const segments = replay((byStep.get(id) ?? []).slice().sort(byTime), now);
    const first = segments[0];
    const last = segments[segments.length - 1];
    if (first && last) {
      start = Math.min(start, first.start);
      end = Math.max(end, last.end);
    }
    rows.push({
      stepId: id,
      stepName: name,
      segments,
      attempts: segments.filter((s) => s.kind === 'attempt').length,
      spanMs: first && last ? last.end - first.start : 0,
    });
  }
  if (!Number.isFinite(start)) {
    const times = trail.map(time);
    start = times.length ? Math.min(...times) : now;
    end = times.length ? Math.max(...times) : now;
  }
  return { start, end: Math.max(end, start), rows };
}
