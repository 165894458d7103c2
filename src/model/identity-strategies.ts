/** The names of the identity strategies (what they mean: engine/identity.ts), shared by templates and config. */
export const IDENTITY_STRATEGIES = ['always_unique', 'caller_provided', 'strict', 'hash'] as const;
export type IdentityStrategy = (typeof IDENTITY_STRATEGIES)[number];
/** Accepted in configuration and templates: the strategies plus `unique`, the former `always_unique`. */
export const IDENTITY_STRATEGY_NAMES = [...IDENTITY_STRATEGIES, 'unique'] as const;
export type IdentityStrategyName = (typeof IDENTITY_STRATEGY_NAMES)[number];

export const DEFAULT_IDENTITY_STRATEGY: IdentityStrategy = 'always_unique';

export function normalizeIdentityStrategy(name: IdentityStrategyName): IdentityStrategy {
  return name === 'unique' ? 'always_unique' : name;
}
