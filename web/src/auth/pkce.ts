// OIDC authorization code + PKCE (RFC 7636, S256), DOM-free: the page does the redirects.

const base64url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');

/** 32 random bytes, base64url: a 43-character verifier (RFC 7636 §4.1). */
export function newCodeVerifier(random: (bytes: Uint8Array<ArrayBuffer>) => void = (b) => crypto.getRandomValues(b)): string {
  const bytes = new Uint8Array(32);
  random(bytes);
  return base64url(bytes);
}

/** BASE64URL(SHA-256(verifier)). Needs a secure context (https or localhost) in a browser. */
export async function codeChallenge(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

export interface AuthorizeParams {
  authorizeUrl: string;
  clientId: string;
  scope: string;
  redirectUri: string;
  state: string;
  challenge: string;
}

export function authorizeUrl(p: AuthorizeParams): string {
  const url = new URL(p.authorizeUrl);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', p.clientId);
  url.searchParams.set('redirect_uri', p.redirectUri);
  url.searchParams.set('scope', p.scope);
  url.searchParams.set('state', p.state);
  url.searchParams.set('code_challenge', p.challenge);
  url.searchParams.set('code_challenge_method', 'S256');
  return url.toString();
}

/** The token request's form body (application/x-www-form-urlencoded). */
export function tokenRequestBody(p: { code: string; redirectUri: string; clientId: string; verifier: string }): string {
  return new URLSearchParams({
    grant_type: 'authorization_code',
    code: p.code,
    redirect_uri: p.redirectUri,
    client_id: p.clientId,
    code_verifier: p.verifier,
  }).toString();
}

/** The claims of a JWT, unverified (the gateway verifies): for the page to know its expiry and whose it is. */
export function jwtClaims(token: string): { exp?: number; sub?: string } {
  const payload = token.split('.')[1];
  if (!payload) return {};
  try {
    const json = atob(
      payload
        .replace(/-/g, '+')
        .replace(/_/g, '/')
        .padEnd(Math.ceil(payload.length / 4) * 4, '='),
    );
    const claims = JSON.parse(json) as { exp?: unknown; sub?: unknown };
    return {
      ...(typeof claims.exp === 'number' ? { exp: claims.exp } : {}),
      ...(typeof claims.sub === 'string' ? { sub: claims.sub } : {}),
    };
  } catch {
    return {};
  }
}

/** The `exp` claim of a JWT in milliseconds, or undefined when it has none (or is no JWT). */
export function jwtExpiry(token: string): number | undefined {
  const exp = jwtClaims(token).exp;
  return exp === undefined ? undefined : exp * 1000;
}
