/** The shape of a step every analysis reads (kept apart so the analyses do not import one another in a circle). */
/** The part of a step the analysis reads. */
export interface GraphStep {
  readonly id: number;
  readonly name: string;
  readonly state: string;
  readonly parentIds: readonly number[];
  readonly childIds: readonly number[];
  /** Attempts counted against the retry limit. */
  readonly attempts: number;
  readonly retryLimit: number;
  readonly blocked: boolean;
  /** How long its last attempt ran, when it finished one. */
  readonly durationMs: number | null;
  /** When its last attempt started (ms since the epoch); null or absent when it never ran. */
  readonly lastAttemptedAtMs?: number | null;
  /** When it finished (ms since the epoch); null or absent while it has not. */
  readonly completedAtMs?: number | null;
}
