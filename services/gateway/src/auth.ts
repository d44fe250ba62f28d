import { AppError, memberIdSchema, type Logger } from '@recipe/shared';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { Context, Next } from 'koa';

export interface AuthOptions {
  /** HS256 secret, or a JWKS URL (RS256/ES256 from an identity provider). */
  key: { secret: () => Promise<string> } | { jwksUrl: string };
  issuer?: string;
  audience?: string;
  log: Logger;
}

export interface Authenticator {
  /** Koa middleware: sets ctx.state.memberId from the bearer token's `sub`. */
  middleware: (ctx: Context, next: Next) => Promise<void>;
  ready: () => Promise<boolean>;
}

const unauthenticated = (message: string) => new AppError(401, 'AUTH.UNAUTHENTICATED', message);

export function createAuthenticator({ key, issuer, audience, log }: AuthOptions): Authenticator {
  let verifyKey: Promise<Uint8Array | JWTVerifyGetKey> | undefined;
  const loadKey = () => {
    verifyKey ??= (
      'jwksUrl' in key ? Promise.resolve(createRemoteJWKSet(new URL(key.jwksUrl))) : key.secret().then((s) => new TextEncoder().encode(s))
    ).catch((err) => {
      verifyKey = undefined; // try again on the next request
      throw err;
    });
    return verifyKey;
  };

  // Verified tokens, for a minute at most (and never past their expiry): a
  // member's client sends the same token with every request, and checking
  // its signature each time is the gateway's biggest cost per request.
  const verified = new Map<string, { sub: string; until: number }>();
  const CACHE_MS = 60_000;
  const CACHE_SIZE = 10_000;

  async function verify(token: string): Promise<string> {
    const hit = verified.get(token);
    if (hit && hit.until > Date.now()) return hit.sub;
    if (hit) verified.delete(token);
    const { sub, exp } = await check(token);
    if (verified.size >= CACHE_SIZE) verified.delete(verified.keys().next().value!);
    verified.set(token, { sub, until: Math.min(exp * 1000, Date.now() + CACHE_MS) });
    return sub;
  }

  async function check(token: string): Promise<{ sub: string; exp: number }> {
    let secret: Uint8Array | JWTVerifyGetKey;
    try {
      secret = await loadKey();
    } catch (err) {
      log.warn({ err }, 'token verification key not available yet');
      throw new AppError(503, 'AUTH.NOT_READY', 'authentication is starting up, please retry', { retryAfterSeconds: 2 });
    }
    try {
      const { payload } = await jwtVerify(token, secret as Uint8Array, {
        issuer,
        audience,
        algorithms: 'jwksUrl' in key ? ['RS256', 'ES256', 'EdDSA'] : ['HS256'],
        requiredClaims: ['sub', 'exp'],
      });
      const sub = memberIdSchema.safeParse(payload.sub);
      if (!sub.success) throw unauthenticated('the token subject is not a valid member id');
      return { sub: sub.data, exp: payload.exp! };
    } catch (err) {
      if (err instanceof AppError) throw err;
      const expired = err instanceof joseErrors.JWTExpired;
      throw unauthenticated(expired ? 'the token has expired' : 'the token is not valid');
    }
  }

  return {
    async middleware(ctx, next) {
      const match = /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(ctx.get('authorization'));
      if (!match) {
        ctx.set('WWW-Authenticate', 'Bearer');
        throw unauthenticated('send Authorization: Bearer <token>');
      }
      ctx.state.memberId = await verify(match[1]!);
      await next();
    },
    ready: () =>
      loadKey().then(
        () => true,
        () => false,
      ),
  };
}
