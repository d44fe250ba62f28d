import type { BuiltService, ServiceDeps } from '@recipe/shared';
import { createApp } from './app.js';
import { createAuthenticator } from './auth.js';
import type { Config } from './config.js';
import { createRateLimiter } from './limits.js';
import type { SignIn } from './web.js';

/** The gateway wired up: authentication (its key checked at start-up), rate limit, bulkhead, circuit, routes. */
export function buildGateway(config: Config, { sidecar, log }: ServiceDeps): BuiltService {
  const auth = createAuthenticator({
    key: config.JWT_JWKS_URL
      ? { jwksUrl: config.JWT_JWKS_URL }
      : { secret: () => sidecar.getSecret(config.JWT_SECRET_STORE, config.JWT_SECRET_NAME) },
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
    insecureDevMode: config.INSECURE_DEV_MODE,
    retryAfterSeconds: config.RETRY_AFTER_SECONDS,
    log,
  });
  const rateLimiter = config.RATE_LIMIT_REDIS_URL
    ? createRateLimiter({
        redisUrl: config.RATE_LIMIT_REDIS_URL,
        limit: config.RATE_LIMIT_PER_WINDOW,
        windowSeconds: config.RATE_LIMIT_WINDOW_SECONDS,
        log,
      })
    : undefined;
  const app = createApp({
    sidecar,
    auth,
    rateLimiter,
    registrationMaxInFlight: config.REGISTRATION_MAX_IN_FLIGHT,
    registrationBreaker: { failures: config.REGISTRATION_BREAKER_FAILURES, openSeconds: config.REGISTRATION_BREAKER_OPEN_SECONDS },
    apps: { myrecipe: config.MYRECIPE_APP_ID, recipe: config.RECIPE_APP_ID, mypage: config.MYPAGE_APP_ID },
    web: { root: config.WEB_ROOT, signIn: signInOf(config), devSignIn: config.DEV_SIGN_IN ? auth.issue : undefined, log },
    log,
    bodyLimitBytes: config.BODY_LIMIT_BYTES,
    retryAfterSeconds: config.RETRY_AFTER_SECONDS,
  });
  if (config.DEV_SIGN_IN) log.warn('DEV_SIGN_IN: POST /dev/sign-in gives anyone a token for any name; development only');
  // A signing key the gateway refuses stops it (see runService) before it is ever ready.
  return { app, close: async () => rateLimiter?.close(), started: auth.start };
}

function signInOf(config: Config): SignIn {
  if (config.DEV_SIGN_IN) return { kind: 'development' };
  if (config.OIDC_AUTHORIZE_URL && config.OIDC_TOKEN_URL && config.OIDC_CLIENT_ID)
    return {
      kind: 'oidc',
      authorizeUrl: config.OIDC_AUTHORIZE_URL,
      tokenUrl: config.OIDC_TOKEN_URL,
      clientId: config.OIDC_CLIENT_ID,
      scope: config.OIDC_SCOPE,
    };
  return { kind: 'token' };
}
