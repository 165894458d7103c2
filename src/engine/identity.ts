/**
 * Task identity: what makes two task requests "the same", and what a duplicate gets. Pure.
 *
 * | strategy          | identity of a request                          | a duplicate gets                      |
 * | ----------------- | ---------------------------------------------- | ------------------------------------- |
 * | `always_unique`   | none: every request is new work                | (never a duplicate)                   |
 * | `caller_provided` | the idempotency key, which is required         | the existing task (`created: false`)  |
 * | `strict`          | the template and its context (or the key)      | refused: TASKER_DUPLICATE_TASK, 409   |
 * | `hash`            | the original Tasker's request hash, per minute | the existing task (`created: false`)  |
 *
 * Under every strategy an idempotency key, when given, is the identity (scoped to the template's
 * namespace and name), so a key means the same thing whatever the template's strategy. `unique` is the
 * former name of `always_unique` and is still accepted.
 */
import { createHash } from 'node:crypto';
import type { TaskTemplate } from '../definitions/types.js';
import {
  DEFAULT_IDENTITY_STRATEGY,
  IDENTITY_STRATEGIES,
  IDENTITY_STRATEGY_NAMES,
  type IdentityStrategy,
  type IdentityStrategyName,
  normalizeIdentityStrategy,
} from '../model/identity-strategies.js';

export {
  DEFAULT_IDENTITY_STRATEGY,
  IDENTITY_STRATEGIES,
  IDENTITY_STRATEGY_NAMES,
  type IdentityStrategy,
  type IdentityStrategyName,
  normalizeIdentityStrategy,
};

/** JSON with object keys sorted, so equal values hash equally. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** The request fields identity looks at (the request already validated). */
export interface IdentityRequest {
  readonly idempotencyKey?: string | undefined;
  readonly initiator?: string | undefined;
  readonly sourceSystem?: string | undefined;
  readonly reason?: string | undefined;
  readonly bypassSteps?: readonly string[] | undefined;
}

/**
 * The identity key stored with a task (unique across the schema), or null when the request is new work
 * whatever else exists. `context` is the validated context (schema defaults filled in), so requests
 * that differ only by a default, or by key order, are the same.
 */
export function identityKey(
  template: TaskTemplate,
  strategy: IdentityStrategy,
  request: IdentityRequest,
  context: Record<string, unknown>,
  requestedAt: Date,
): string | null {
  if (request.idempotencyKey !== undefined) {
    return `key:${template.namespace}.${template.name}:${request.idempotencyKey}`;
  }
  if (strategy === 'strict') {
    // The version is left out: a new version of a template does not make the same work new.
    return `strict:${sha256(canonicalJson({ namespace: template.namespace, name: template.name, context }))}`;
  }
  if (strategy !== 'hash') return null;
  const minute = new Date(Math.floor(requestedAt.getTime() / 60_000) * 60_000).toISOString();
  const digest = sha256(
    canonicalJson({
      task: template.fullName,
      context,
      initiator: request.initiator ?? null,
      sourceSystem: request.sourceSystem ?? null,
      reason: request.reason ?? null,
      bypassSteps: [...(request.bypassSteps ?? [])].sort(),
      requestedAt: minute,
    }),
  );
  return `hash:${digest}`;
}
