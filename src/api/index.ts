/** The HTTP API: a server, a plugin for your own Fastify app, and a bench of its hot routes. */
export {
  AuthenticationError,
  bearerToken,
  isPermission,
  jwtAuthenticator,
  PERMISSIONS,
  type Permission,
} from './auth.js';
export {
  type ApiOptions,
  type Authenticator,
  type Authorizer,
  apiOptionsSchema,
  type ExtraRoutes,
  type Principal,
  type ResolvedApiOptions,
  resolveApiOptions,
} from './options.js';
export { taskerApi } from './plugin.js';
export { HttpProblem, type ProblemDetails } from './problems.js';
export {
  type CreateApiServerOptions,
  createApiServer,
  type RunningServer,
  type StartServerOptions,
  startServer,
} from './server.js';
