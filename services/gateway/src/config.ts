import { fileURLToPath } from 'node:url';
import { baseConfigSchema, booleanFlag, loadConfig } from '@recipe/shared';
import { z } from 'zod';

const schema = baseConfigSchema.extend({
  PORT: baseConfigSchema.shape.PORT.default(8080),
  MYRECIPE_APP_ID: z.string().min(1).default('myrecipe'),
  RECIPE_APP_ID: z.string().min(1).default('recipe'),
  MYPAGE_APP_ID: z.string().min(1).default('mypage'),
  /** HS256 signing key, read from this Dapr secret store at start-up (local runs). */
  JWT_SECRET_STORE: z.string().min(1).default('secretstore'),
  JWT_SECRET_NAME: z.string().min(1).default('JWT_SIGNING_KEY'),
  /** Production: verify tokens against an identity provider's JWKS instead. */
  JWT_JWKS_URL: z.string().url().optional(),
  JWT_ISSUER: z.string().min(1).optional(),
  JWT_AUDIENCE: z.string().min(1).optional(),
  /** Registrations in flight per replica before the gateway answers 503 "register again in a moment". */
  REGISTRATION_MAX_IN_FLIGHT: z.coerce.number().int().min(1).max(10_000).default(64),
  /** Registration failures in a row (myrecipe's, never a member's 4xx) that open the registration circuit, and for how long. */
  REGISTRATION_BREAKER_FAILURES: z.coerce.number().int().min(1).max(1000).default(5),
  REGISTRATION_BREAKER_OPEN_SECONDS: z.coerce.number().int().min(1).max(3600).default(10),
  /** Per-member limit shared by all replicas through Redis; unset URL: no limit. */
  RATE_LIMIT_REDIS_URL: z.string().url().optional(),
  RATE_LIMIT_PER_WINDOW: z.coerce.number().int().min(1).default(300),
  RATE_LIMIT_WINDOW_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
  /** The built web app served at / (npm run build -w web). */
  WEB_ROOT: z
    .string()
    .min(1)
    .default(fileURLToPath(new URL('../../../web/dist', import.meta.url))),
  /** Development only: POST /dev/sign-in mints a token for any name typed. Never set in production (k8s/ does not). */
  DEV_SIGN_IN: booleanFlag.default(false),
  /** The web app's sign-in with an identity provider: OAuth 2.0 authorization code with PKCE (web/README.md). */
  OIDC_AUTHORIZE_URL: z.string().url().optional(),
  OIDC_TOKEN_URL: z.string().url().optional(),
  OIDC_CLIENT_ID: z.string().min(1).optional(),
  OIDC_SCOPE: z.string().min(1).default('openid profile'),
  BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(10 * 1024 * 1024)
    .default(64 * 1024),
});

const OIDC = ['OIDC_AUTHORIZE_URL', 'OIDC_TOKEN_URL', 'OIDC_CLIENT_ID'] as const;

const checked = schema.superRefine((config, ctx) => {
  if (config.DEV_SIGN_IN && config.JWT_JWKS_URL)
    ctx.addIssue({
      code: 'custom',
      path: ['DEV_SIGN_IN'],
      message: 'tokens come from the identity provider (JWT_JWKS_URL): no development sign-in',
    });
  const oidc = OIDC.filter((name) => config[name] !== undefined);
  if (oidc.length && oidc.length < OIDC.length)
    ctx.addIssue({ code: 'custom', path: ['OIDC_CLIENT_ID'], message: `set all of ${OIDC.join(', ')} or none` });
});

export type Config = z.infer<typeof schema>;
// The gateway answers only the public, on its own port: its sidecar never calls it, so it needs no app token.
export const readConfig = (env?: NodeJS.ProcessEnv): Config => loadConfig(checked, env, { takesSidecarCalls: false });
