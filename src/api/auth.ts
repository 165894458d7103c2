/**
 * Authentication (who is calling) and authorization (may they do this). Off by default. When on, every
 * route but /health/live and /health/ready needs a principal (401 otherwise) holding the route's
 * permission `tasker.<resource>:<action>` (403 otherwise). Permissions come from the token's claim, or
 * from the user's `authorize` function. Messages say what is wrong, never what a secret or token holds.
 */
import type { FastifyRequest } from 'fastify';
import { createRemoteJWKSet, type JWTPayload, errors as joseErrors, jwtVerify } from 'jose';
import type { Authenticator, Principal, ResolvedApiOptions } from './options.js';
import { HttpProblem } from './problems.js';

/** The permissions of the reference (section 8): resource -> actions. */
export const PERMISSIONS = {
  'tasker.task': ['index', 'show', 'create', 'update', 'destroy', 'retry', 'cancel'],
  'tasker.workflow_step': ['index', 'show', 'update', 'destroy', 'retry', 'cancel'],
  'tasker.health_status': ['index'],
  'tasker.handler': ['index', 'show'],
  'tasker.metrics': ['index'],
  'tasker.analytics': ['index'],
  'tasker.schedule': ['index', 'show', 'create', 'update', 'destroy', 'run'],
} as const;

export type Permission = {
  [R in keyof typeof PERMISSIONS]: `${R}:${(typeof PERMISSIONS)[R][number]}`;
}[keyof typeof PERMISSIONS];

export function isPermission(value: string): value is Permission {
  const [resource, action] = value.split(':');
  const actions = PERMISSIONS[resource as keyof typeof PERMISSIONS] as readonly string[] | undefined;
  return actions !== undefined && action !== undefined && actions.includes(action);
}

/** Thrown by authenticators for credentials that are present but not acceptable (401). */
export class AuthenticationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuthenticationError';
  }
}

export function unauthorized(detail: string): HttpProblem {
  return new HttpProblem(401, 'TASKER_UNAUTHENTICATED', detail, undefined, {
    'www-authenticate': 'Bearer realm="tasker"',
  });
}

function permissionsFromClaim(value: unknown): string[] {
  if (typeof value === 'string') return value.split(/\s+/).filter(Boolean);
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return [];
}

/** The built-in JWT bearer authenticator (HS256 secret, or RS256/ES256 keys from a JWKS URL). */
export function jwtAuthenticator(jwt: NonNullable<ResolvedApiOptions['auth']['jwt']>): Authenticator {
  const key = jwt.secret
    ? { kind: 'secret' as const, secret: new TextEncoder().encode(jwt.secret) }
    : { kind: 'jwks' as const, jwks: createRemoteJWKSet(new URL(jwt.jwksUrl!)) };
  return async (_request, token) => {
    if (token === null) return null;
    let payload: JWTPayload;
    try {
      const options = {
        issuer: jwt.issuer,
        audience: jwt.audience,
        clockTolerance: jwt.clockToleranceSeconds,
        requiredClaims: ['exp'],
      };
      payload =
        key.kind === 'secret'
          ? (await jwtVerify(token, key.secret, { ...options, algorithms: ['HS256'] })).payload
          : (await jwtVerify(token, key.jwks, { ...options, algorithms: ['RS256', 'ES256'] })).payload;
    } catch (error) {
      throw new AuthenticationError(describeJwtError(error));
    }
    return {
      id: typeof payload.sub === 'string' ? payload.sub : 'anonymous',
      permissions: permissionsFromClaim(payload[jwt.permissionsClaim]),
      claims: payload,
    };
  };
}

/** Why a token was refused, in words that reveal nothing about the key or the token's content. */
function describeJwtError(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'the token has expired';
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.claim === 'iss') return 'the token was issued by an unexpected issuer';
    if (error.claim === 'aud') return 'the token is meant for another audience';
    if (error.claim === 'exp') return 'the token has no expiry (exp)';
    if (error.claim === 'nbf') return 'the token is not valid yet';
    return `the token's ${error.claim} claim is not acceptable`;
  }
  if (error instanceof joseErrors.JOSEAlgNotAllowed)
    return 'the token is signed with an algorithm not accepted';
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'the token signature is not valid';
  if (error instanceof joseErrors.JWKSNoMatchingKey) return 'no key of the key set matches the token';
  if (error instanceof joseErrors.JWKSTimeout || error instanceof joseErrors.JOSEError) {
    if ((error as { code?: string }).code === 'ERR_JWKS_TIMEOUT')
      return 'the key set could not be fetched in time';
    if (error instanceof joseErrors.JWTInvalid || error instanceof joseErrors.JWSInvalid) {
      return 'the token is malformed';
    }
  }
  return 'the token is not valid';
}

/** The bearer token of a request: the Authorization header, or `access_token` for event streams. */
export function bearerToken(request: FastifyRequest, allowQuery: boolean): string | null {
  const header = request.headers.authorization;
  if (typeof header === 'string' && header.length > 0) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) throw unauthorized('the Authorization header must be "Bearer <token>"');
    return match[1]!;
  }
  if (allowQuery) {
    const q = (request.query as Record<string, unknown> | undefined)?.access_token;
    if (typeof q === 'string' && q.length > 0) return q;
  }
  return null;
}

export interface AccessControl {
  readonly enabled: boolean;
  /** Establishes who is calling (cached per request); throws a 401 problem. Null when auth is off. */
  authenticate(request: FastifyRequest, allowQueryToken: boolean): Promise<Principal | null>;
  /** Authenticates (if needed) and checks the permission; throws 401/403 problems. */
  check(
    request: FastifyRequest,
    permission: Permission,
    options?: { allowQueryToken?: boolean },
  ): Promise<Principal | null>;
}

export function createAccessControl(auth: ResolvedApiOptions['auth']): AccessControl {
  if (!auth.enabled) return { enabled: false, authenticate: async () => null, check: async () => null };
  const authenticate = auth.authenticate ?? jwtAuthenticator(auth.jwt!);
  const authorize =
    auth.authorize ??
    ((principal: Principal, permission: string) => principal.permissions?.includes(permission) ?? false);
  const cache = new WeakMap<FastifyRequest, Principal>();
  const authenticateRequest = async (
    request: FastifyRequest,
    allowQueryToken: boolean,
  ): Promise<Principal> => {
    const cached = cache.get(request);
    if (cached) return cached;
    const token = bearerToken(request, allowQueryToken);
    let principal: Principal | null;
    try {
      principal = await authenticate(request, token);
    } catch (error) {
      if (error instanceof HttpProblem) throw error;
      if (error instanceof AuthenticationError) throw unauthorized(error.message);
      request.log.warn({ err: error }, 'authenticator failed');
      throw unauthorized('the credentials could not be verified');
    }
    if (!principal) throw unauthorized('authentication required: send "Authorization: Bearer <token>"');
    cache.set(request, principal);
    return principal;
  };
  return {
    enabled: true,
    authenticate: authenticateRequest,
    async check(request, permission, options = {}) {
      const principal = await authenticateRequest(request, options.allowQueryToken ?? false);
      let allowed = false;
      try {
        allowed = (await authorize(principal, permission)) === true;
      } catch (error) {
        request.log.warn({ err: error }, 'authorizer failed');
      }
      if (!allowed) {
        throw new HttpProblem(403, 'TASKER_FORBIDDEN', `missing permission ${permission}`);
      }
      return principal;
    },
  };
}
