/**
 * Batch steps in the worker (docs/workflows.md#batches): which handler a claimed row runs and what its
 * context holds. A batch step's first run plans (its handler returns the items); once its workers have
 * finished it runs again only to hand on their results, without calling the handler. A worker step
 * (`<batch>[i]`) runs the batch's item handler on its item, with the checkpoint it last saved.
 */
import type { StepHandler, TemplateStep } from '../definitions/types.js';
import { PermanentError } from '../errors.js';

const WORKER_NAME = /^(.*)\[(\d+)\]$/;

/** The name a batch's workers share in the worker's handler table. */
export const workersKey = (stepName: string) => `${stepName}[]`;

/** For a worker step's name, the batch step's name; null for other steps. */
export function batchOf(stepName: string): string | null {
  return WORKER_NAME.exec(stepName)?.[1] ?? null;
}

interface StoredInputs {
  readonly item?: unknown;
  readonly checkpoint?: unknown;
  readonly batch_results?: unknown[];
  readonly batch_failed?: string[];
}

export interface RowSetup {
  readonly handler: StepHandler<never>;
  readonly inputs: unknown;
  readonly lastCheckpoint: unknown;
}

/** What a claimed row runs: its step's handler, or a batch worker's, or a finished batch's hand-on. */
export function setUpRow(
  step: TemplateStep,
  handler: StepHandler<never>,
  worker: boolean,
  inputs: unknown,
): RowSetup {
  const stored = (inputs ?? {}) as StoredInputs;
  if (worker) return { handler, inputs: stored.item ?? null, lastCheckpoint: stored.checkpoint ?? undefined };
  if (step.kind === 'batch' && stored.batch_results) {
    const results = stored.batch_results;
    return { handler: (() => results) as StepHandler<never>, inputs: null, lastCheckpoint: undefined };
  }
  if (step.kind === 'batch' && stored.batch_failed) {
    const failed = stored.batch_failed;
    const fail = () => {
      throw new PermanentError(
        `${failed.length} batch worker${failed.length > 1 ? 's' : ''} of "${step.name}" failed: ${failed.slice(0, 10).join(', ')}${failed.length > 10 ? ', ...' : ''}`,
        { code: 'BATCH_FAILED', context: { failed: failed.slice(0, 100) } },
      );
    };
    return { handler: fail as StepHandler<never>, inputs: null, lastCheckpoint: undefined };
  }
  return { handler, inputs: inputs ?? null, lastCheckpoint: undefined };
}

/** What a batch step's handler returned, as items to run; or what is wrong with it. */
export function itemsOf(
  stepName: string,
  maxItems: number,
  result: unknown,
): { ok: true; items: unknown[] } | { ok: false; message: string } {
  const given =
    typeof result === 'object' && result !== null && !Array.isArray(result)
      ? ((result as { items?: unknown; batches?: unknown }).items ??
        (result as { batches?: unknown }).batches)
      : undefined;
  if (!Array.isArray(given)) {
    return {
      ok: false,
      message: `batch step "${stepName}" must return { items: [...] } or { batches: [...] }`,
    };
  }
  if (given.length > maxItems) {
    return {
      ok: false,
      message: `batch step "${stepName}" returned ${given.length} items; its limit is ${maxItems} (batch.maxItems)`,
    };
  }
  return { ok: true, items: given };
}
