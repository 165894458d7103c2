/** GraphQL endpoint (mercurius). */
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from './context.js';

export async function graphqlRoutes(_app: FastifyInstance, _ctx: ApiContext): Promise<void> {}
