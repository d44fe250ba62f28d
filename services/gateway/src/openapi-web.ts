import { z } from 'zod';
import { html, json, operation } from './openapi-registry.js';
import { devSignInSchema } from './web.js';

// The members' web app (web.ts), served by the gateway from the API's origin.
operation({
  method: 'get',
  path: '/',
  summary: 'The web app (built from web/)',
  public: true,
  responses: { 200: html('The page') },
  errors: [404],
});

operation({
  method: 'get',
  path: '/assets/{file}',
  summary: "The web app's scripts and styles (named by content hash: cached for good)",
  public: true,
  request: { params: z.strictObject({ file: z.string() }) },
  responses: {
    200: { description: 'The file', content: { 'text/css': { schema: z.string() }, 'application/javascript': { schema: z.string() } } },
  },
  errors: [404],
});

operation({
  method: 'get',
  path: '/favicon.svg',
  summary: "The web app's icon",
  public: true,
  responses: { 200: { description: 'The icon', content: { 'image/svg+xml': { schema: z.string() } } } },
  errors: [404],
});

const signInSchema = z
  .discriminatedUnion('kind', [
    z.object({ kind: z.literal('development') }),
    z.object({ kind: z.literal('oidc'), authorizeUrl: z.url(), tokenUrl: z.url(), clientId: z.string(), scope: z.string() }),
    z.object({ kind: z.literal('token') }),
  ])
  .meta({
    id: 'SignIn',
    description: 'development: POST /dev/sign-in; oidc: authorization code with PKCE at the identity provider; token: paste one',
  });

operation({
  method: 'get',
  path: '/web-config.json',
  summary: 'How the web app signs a member in',
  public: true,
  responses: { 200: json(z.strictObject({ signIn: signInSchema }).meta({ id: 'WebConfig' }), 'The sign-in the page offers') },
});

operation({
  method: 'post',
  path: '/dev/sign-in',
  summary: 'Development only (DEV_SIGN_IN=true, never in production): a token for the member with this name',
  description: 'The same name (in any case) is always the same member. Absent (404) unless the gateway runs with DEV_SIGN_IN=true.',
  public: true,
  request: { body: { required: true, content: { 'application/json': { schema: devSignInSchema.meta({ id: 'DevSignIn' }) } } } },
  responses: {
    200: json(
      z
        .strictObject({ token: z.string(), memberId: z.string(), displayName: z.string(), expiresAt: z.iso.datetime() })
        .meta({ id: 'DevToken' }),
      'A bearer token for the API',
    ),
  },
  errors: [404],
});
