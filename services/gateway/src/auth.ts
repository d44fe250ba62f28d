import { AppError, ConfigError, memberIdSchema, nameFromClaims, type Logger } from '@recipe/shared';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, SignJWT, type JWTVerifyGetKey } from 'jose';
import type { Context, Next } from 'koa';

export interface AuthOptions {
  /** HS256 secret, or a JWKS URL (RS256/ES256 from an identity provider). */
  key: { secret: () => Promise<string> } | { jwksUrl: string; cacheMaxAgeMs?: number };
  issuer?: string;
  audience?: string;
  /** Accept a weak HS256 key, with a warning (INSECURE_DEV_MODE). */
  insecureDevMode?: boolean;
  /** Retry-After of the 503 sent while tokens cannot be checked (the JWKS endpoint is down). */
  retryAfterSeconds?: number;
  /** The clock token expiry is judged by (tests move it instead of sleeping). */
  now?: () => number;
  log: Logger;
}

interface Member {
  sub: string;
  name: string | undefined;
}

export interface Authenticator {
  /** Koa middleware: sets ctx.state.memberId from the bearer token's `sub`. */
  middleware: (ctx: Context, next: Next) => Promise<void>;
  ready: () => Promise<boolean>;
  /** Loads the key, trying again every second while it cannot be read; rejects, for good, if the key is refused. */
  start: () => Promise<void>;
  /** A token this gateway accepts, signed with its HS256 key (the development sign-in); refused with a JWKS. */
  issue: (member: { sub: string; name: string }, expiresInSeconds: number) => Promise<{ token: string; expiresAt: Date }>;
}

const unauthenticated = (message: string) => new AppError(401, 'AUTH.UNAUTHENTICATED', message);

/** At least as many bytes as HS256's output: anything shorter is easier to guess than the signature. */
const MIN_KEY_BYTES = 32;

/** Why an HS256 signing key must not be used: too short, or the placeholder of k8s/secrets.example.yaml. */
export function signingKeyProblems(key: string): string[] {
  const problems: string[] = [];
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes < MIN_KEY_BYTES) problems.push(`the JWT signing key has ${bytes} bytes; at least ${MIN_KEY_BYTES} are required`);
  if (/CHANGE-ME/i.test(key))
    problems.push('the JWT signing key is the example placeholder (CHANGE-ME): generate one, e.g. openssl rand -hex 32');
  return problems;
}

/** The identity provider's key set could not be read: nobody's token can be checked right now. */
class KeySetUnavailable extends Error {
  override name = 'KeySetUnavailable';
}

/** What the key set throws about the token itself (no key for its kid or alg), as opposed to failing to load. */
const TOKEN_PROBLEMS = [joseErrors.JWKSNoMatchingKey, joseErrors.JWKSMultipleMatchingKeys, joseErrors.JOSENotSupported];

function remoteKeySet(url: string, cacheMaxAgeMs?: number): JWTVerifyGetKey {
  const keySet = createRemoteJWKSet(new URL(url), { cacheMaxAge: cacheMaxAgeMs });
  return async (header, token) => {
    try {
      return await keySet(header, token);
    } catch (err) {
      if (TOKEN_PROBLEMS.some((kind) => err instanceof kind)) throw err;
      // Unreachable, a timeout, not 200, not a key set.
      throw new KeySetUnavailable(`the JWKS at ${url} could not be read`, { cause: err });
    }
  };
}

export function createAuthenticator({
  key,
  issuer,
  audience,
  insecureDevMode = false,
  retryAfterSeconds = 5,
  now = Date.now,
  log,
}: AuthOptions): Authenticator {
  const secretKey = async (secret: () => Promise<string>) => {
    const value = await secret();
    const problems = signingKeyProblems(value);
    if (problems.length && !insecureDevMode) throw new ConfigError(problems);
    if (problems.length) log.warn({ problems }, 'INSECURE_DEV_MODE: using a JWT signing key that production refuses');
    return new TextEncoder().encode(value);
  };
  let verifyKey: Promise<Uint8Array | JWTVerifyGetKey> | undefined;
  const loadKey = () => {
    verifyKey ??= ('jwksUrl' in key ? Promise.resolve(remoteKeySet(key.jwksUrl, key.cacheMaxAgeMs)) : secretKey(key.secret)).catch(
      (err: unknown) => {
        verifyKey = undefined; // try again on the next request
        throw err;
      },
    );
    return verifyKey;
  };

  // Verified tokens, for a minute at most (and never past their expiry): a
  // member's client sends the same token with every request, and checking
  // its signature each time is the gateway's biggest cost per request.
  const verified = new Map<string, { member: Member; until: number }>();
  const CACHE_MS = 60_000;
  const CACHE_SIZE = 10_000;

  async function verify(token: string): Promise<Member> {
    const hit = verified.get(token);
    if (hit && hit.until > now()) return hit.member;
    if (hit) verified.delete(token);
    const { exp, ...member } = await check(token);
    if (verified.size >= CACHE_SIZE) verified.delete(verified.keys().next().value!);
    verified.set(token, { member, until: Math.min(exp * 1000, now() + CACHE_MS) });
    return member;
  }

  async function check(token: string): Promise<Member & { exp: number }> {
    let secret: Uint8Array | JWTVerifyGetKey;
    try {
      secret = await loadKey();
    } catch (err) {
      log.warn({ err }, 'token verification key not available');
      throw new AppError(503, 'AUTH.NOT_READY', 'authentication is starting up, please retry', { retryAfterSeconds: 2 });
    }
    try {
      const { payload } = await jwtVerify(token, secret as Uint8Array, {
        issuer,
        audience,
        algorithms: 'jwksUrl' in key ? ['RS256', 'ES256', 'EdDSA'] : ['HS256'],
        requiredClaims: ['sub', 'exp'],
        currentDate: new Date(now()),
      });
      const sub = memberIdSchema.safeParse(payload.sub);
      if (!sub.success) throw unauthenticated('the token subject is not a valid member id');
      return { sub: sub.data, name: nameFromClaims(payload), exp: payload.exp! };
    } catch (err) {
      if (err instanceof AppError) throw err;
      if (err instanceof KeySetUnavailable) {
        log.warn({ err }, 'tokens cannot be checked: the identity provider is unavailable');
        throw new AppError(503, 'AUTH.UNAVAILABLE', 'tokens cannot be checked right now, please retry', { retryAfterSeconds, cause: err });
      }
      const expired = err instanceof joseErrors.JWTExpired;
      throw unauthenticated(expired ? 'the token has expired' : 'the token is not valid');
    }
  }

  return {
    middleware: async (ctx, next) => {
      const match = /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(ctx.get('authorization'));
      if (!match) {
        ctx.set('WWW-Authenticate', 'Bearer');
        throw unauthenticated('send Authorization: Bearer <token>');
      }
      const member = await verify(match[1]!);
      ctx.state.memberId = member.sub;
      // The token's name (or nickname) claim, shown as the member's name until they set one.
      ctx.state.memberName = member.name;
      await next();
    },
    ready: () =>
      loadKey().then(
        () => true,
        () => false,
      ),
    issue: async ({ sub, name }, expiresInSeconds) => {
      if ('jwksUrl' in key) throw new Error('tokens come from the identity provider: this gateway cannot sign any');
      const secret = (await loadKey()) as Uint8Array;
      const issuedAt = Math.floor(now() / 1000);
      let jwt = new SignJWT({ name }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuedAt(issuedAt);
      jwt = jwt.setExpirationTime(issuedAt + expiresInSeconds);
      if (issuer) jwt = jwt.setIssuer(issuer);
      if (audience) jwt = jwt.setAudience(audience);
      return { token: await jwt.sign(secret), expiresAt: new Date((issuedAt + expiresInSeconds) * 1000) };
    },
    start: async () => {
      for (;;) {
        try {
          await loadKey();
          return;
        } catch (err) {
          if (err instanceof ConfigError) throw err;
          // The sidecar (or its secret store) is not up yet.
          await new Promise((resolve) => setTimeout(resolve, 1_000));
        }
      }
    },
  };
}
