import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import type Router from '@koa/router';
import { AppError, displayNameSchema, parseInput, type Logger } from '@recipe/shared';
import type { Context } from 'koa';
import { z } from 'zod';
import type { Authenticator } from './auth.js';

// The members' web app (web/, built into web/dist), served from the API's own
// origin: `/` and its hashed `/assets/…`, its sign-in settings at
// /web-config.json, and, only with DEV_SIGN_IN=true, POST /dev/sign-in. All
// public: registered before authentication.

/** How the page gets a member's token. */
export type SignIn =
  { kind: 'development' } | { kind: 'oidc'; authorizeUrl: string; tokenUrl: string; clientId: string; scope: string } | { kind: 'token' };

export interface WebOptions {
  /** The built app (web/dist); not there: `/` says how to build it. */
  root?: string;
  signIn: SignIn;
  /** Set with signIn `development` only: mints tokens with the gateway's own key. */
  devSignIn?: Authenticator['issue'];
  log: Logger;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'application/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
  '.txt': 'text/plain; charset=utf-8',
};

interface WebFile {
  type: string;
  body: Buffer;
}

/** The build's files, read once, by URL path: nothing outside this list is ever served, whatever the path says. */
function readBuild(root: string): Map<string, WebFile> {
  const files = new Map<string, WebFile>();
  const walk = (dir: string, prefix: string) => {
    for (const name of readdirSync(dir)) {
      const full = join(dir, name);
      if (statSync(full).isDirectory()) walk(full, `${prefix}${name}/`);
      else if (Object.hasOwn(TYPES, extname(name)))
        files.set(`${prefix}${name}`, { type: TYPES[extname(name)]!, body: readFileSync(full) });
    }
  };
  walk(root, '/');
  return files;
}

export const devSignInSchema = z.strictObject({
  name: displayNameSchema,
  expiresInSeconds: z.number().int().min(30).max(86_400).default(3600),
});

/**
 * The member a development sign-in name stands for, the same for the same
 * name in any case: `dev.` and the name, lower-cased, when that makes a valid
 * member id, else `dev-` and a digest of it. Never the name itself: a token's
 * name that repeats its subject is not shown (nameFromClaims), and the name
 * typed is what the member should see.
 */
export function devMemberId(name: string): string {
  const folded = name.normalize('NFC').trim().toLowerCase();
  return /^[a-z0-9._@:-]{1,50}$/.test(folded) && /[a-z0-9]/.test(folded)
    ? `dev.${folded}`
    : `dev-${createHash('sha256').update(folded).digest('hex').slice(0, 20)}`;
}

export function webRoutes(router: Router, { root, signIn, devSignIn, log }: WebOptions): void {
  const files = root && existsSync(join(root, 'index.html')) ? readBuild(root) : undefined;
  if (!files) log.warn({ root }, 'the web app is not built (npm run build -w web): / answers 404');
  const policy = contentSecurityPolicy(signIn);

  router.get('/web-config.json', (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { signIn };
  });

  router.get('/', (ctx) => sendFile(ctx, files, '/index.html', policy));
  router.get('/assets/:file', (ctx) => sendFile(ctx, files, `/assets/${ctx.params.file ?? ''}`, policy));
  router.get('/favicon.svg', (ctx) => sendFile(ctx, files, '/favicon.svg', policy));

  if (devSignIn) {
    router.post('/dev/sign-in', async (ctx) => {
      const { name, expiresInSeconds } = parseInput(devSignInSchema, ctx.request.body);
      const memberId = devMemberId(name);
      const { token, expiresAt } = await devSignIn({ sub: memberId, name }, expiresInSeconds);
      ctx.set('Cache-Control', 'no-store');
      ctx.body = { token, memberId, displayName: name, expiresAt: expiresAt.toISOString() };
    });
  }
}

function sendFile(ctx: Context, files: Map<string, WebFile> | undefined, path: string, policy: string) {
  const file = files?.get(path);
  if (!file) throw new AppError(404, 'ROUTE.NOT_FOUND', files ? `no file ${ctx.path}` : 'the web app is not built: npm run build -w web');
  ctx.type = file.type;
  // Vite names assets by their content's hash: they never change; the page itself always comes fresh.
  ctx.set('Cache-Control', path.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.set('Referrer-Policy', 'no-referrer');
  ctx.set('Content-Security-Policy', policy);
  ctx.body = file.body;
}

/** Only our own files run; the page talks to its own origin, and to the identity provider's token endpoint. */
function contentSecurityPolicy(signIn: SignIn): string {
  const connect = ["'self'", ...(signIn.kind === 'oidc' ? [new URL(signIn.tokenUrl).origin] : [])];
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src ${connect.join(' ')}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "object-src 'none'",
  ].join('; ');
}
