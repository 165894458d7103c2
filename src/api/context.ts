/** What every route module of the API needs: the engine, the resolved options and access control. */
import type { FastifyInstance } from 'fastify';
import type { SqlContext } from '../engine/sql/sql-context.js';
import type { Tasker } from '../tasker.js';
import type { AccessControl, Permission } from './auth.js';
import type { ResolvedApiOptions } from './options.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The permission a route needs when auth is on; routes without one are public (liveness, readiness). */
    permission?: Permission;
    /** With auth on, the caller must be authenticated (no particular permission). */
    authenticated?: boolean;
    /** Event streams also accept the token as `?access_token=` (EventSource cannot send headers). */
    queryToken?: boolean;
  }
  interface FastifyRequest {
    correlationId: string;
    /** The traceparent of the request's server span; null when tracing is off. */
    traceparent: string | null;
  }
}

export interface ApiContext {
  readonly tasker: Tasker;
  readonly options: ResolvedApiOptions;
  readonly access: AccessControl;
  readonly sql: SqlContext;
}

export type RouteModule = (app: FastifyInstance, ctx: ApiContext) => void | Promise<void>;

/** Parses a validated id path parameter. */
export function toId(value: string): number {
  return Number(value);
}
