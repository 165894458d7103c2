/** What instrumentation (tracing, log context, custom events) knows about a step attempt. */
export interface StepRunInfo {
  readonly taskId: number;
  readonly stepId: number;
  readonly stepName: string;
  readonly namespace: string;
  readonly name: string;
  readonly version: string;
  readonly attempt: number;
  readonly correlationId: string | null;
  readonly traceparent: string | null;
}
