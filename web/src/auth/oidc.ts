import type { SignInConfig } from '../api/types.js';
import { authorizeUrl, codeChallenge, newCodeVerifier, tokenRequestBody } from './pkce.js';

// The browser half of the OIDC authorization-code + PKCE flow. The redirect
// URI is the page's origin + '/': the identity provider sends the member back
// to `/?code=…&state=…`, and completeOidcSignIn trades the code for a token.

type OidcConfig = Extract<SignInConfig, { kind: 'oidc' }>;
const PENDING_KEY = 'recipe.oidc';

interface Pending {
  state: string;
  verifier: string;
}

export const redirectUri = () => `${location.origin}/`;

/** Goes to the identity provider's sign-in page. */
export async function beginOidcSignIn(config: OidcConfig): Promise<void> {
  const pending: Pending = { state: newCodeVerifier(), verifier: newCodeVerifier() };
  sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
  const challenge = await codeChallenge(pending.verifier);
  location.assign(
    authorizeUrl({
      authorizeUrl: config.authorizeUrl,
      clientId: config.clientId,
      scope: config.scope,
      redirectUri: redirectUri(),
      state: pending.state,
      challenge,
    }),
  );
}

/** Whether the page was opened by the identity provider's redirect. */
export const isOidcCallback = () => {
  const params = new URLSearchParams(location.search);
  return params.has('state') && (params.has('code') || params.has('error'));
};

/**
 * The token from the provider's redirect: checks `state`, trades the code at
 * the token endpoint (which must allow this origin: CORS), and removes the
 * code from the address bar. The access token is what the gateway checks
 * (JWT_ISSUER, JWT_AUDIENCE); an id_token only when no access token came.
 */
export async function completeOidcSignIn(config: OidcConfig): Promise<string> {
  const params = new URLSearchParams(location.search);
  history.replaceState(null, '', `${location.pathname}${location.hash}`);
  const pending = JSON.parse(sessionStorage.getItem(PENDING_KEY) ?? 'null') as Pending | null;
  sessionStorage.removeItem(PENDING_KEY);
  const code = params.get('code');
  if (!pending || params.get('state') !== pending.state || !code) throw new Error(params.get('error') ?? 'sign-in was not completed');
  const response = await fetch(config.tokenUrl, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
    body: tokenRequestBody({ code, redirectUri: redirectUri(), clientId: config.clientId, verifier: pending.verifier }),
  });
  if (!response.ok) throw new Error(`token endpoint answered ${response.status}`);
  const tokens = (await response.json()) as { access_token?: string; id_token?: string };
  const token = tokens.access_token ?? tokens.id_token;
  if (!token) throw new Error('no token in the answer');
  return token;
}
