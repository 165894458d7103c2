/**
 * Maps a loaded configuration (file + environment: the api, auth and health groups) onto the API
 * server's options, so `tasker serve` and `npm start` serve what the config says.
 */
import type { LoadedConfig } from '../config/load-config.js';
import type { Tasker } from '../tasker.js';
import type { StartServerOptions } from './server.js';

export function serverOptionsFromConfig(config: LoadedConfig, tasker: Tasker): StartServerOptions {
  const { jwt } = config.auth;
  return {
    tasker,
    port: config.api.port,
    host: config.api.host,
    prefix: config.api.prefix,
    bodyLimit: config.api.bodyLimit,
    publicDocs: config.api.publicDocs,
    requestTimeoutMs: config.api.requestTimeoutMs,
    maxHeaderSize: config.api.maxHeaderSize,
    graphql: { enabled: true, ...config.api.graphql },
    health: { readinessTimeoutMs: config.health.readyTimeoutMs },
    auth: {
      enabled: config.auth.enabled,
      statusRequiresAuth: config.health.statusRequiresAuth,
      ...(jwt.secret || jwt.jwksUrl
        ? {
            jwt: {
              ...(jwt.secret ? { secret: jwt.secret } : { jwksUrl: jwt.jwksUrl! }),
              ...(jwt.issuer ? { issuer: jwt.issuer } : {}),
              ...(jwt.audience ? { audience: jwt.audience } : {}),
              permissionsClaim: config.auth.permissionsClaim,
            },
          }
        : {}),
    },
  };
}
