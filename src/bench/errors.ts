/** Errors of the benchmark harness (a failed run names what went wrong; no figure is recorded). */
export type BenchErrorCode =
  | 'BENCH_INVALID_OPTION'
  | 'BENCH_TIMEOUT'
  | 'BENCH_TASK_FAILED'
  | 'BENCH_WRONG_COUNT'
  | 'BENCH_UNAVAILABLE';

export class BenchError extends Error {
  override readonly name = 'BenchError';
  constructor(
    readonly code: BenchErrorCode,
    message: string,
  ) {
    super(message);
  }
}
