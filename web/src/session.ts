import { jwtClaims } from './auth/pkce.js';

/** Who is signed in, kept in sessionStorage (this tab only, gone when it closes). */
export interface Session {
  token: string;
  /** Milliseconds since the epoch; undefined when the token does not say. */
  expiresAt?: number;
  memberId?: string;
}

const SESSION_KEY = 'recipe.session';
const RETURN_KEY = 'recipe.returnTo';

export function loadSession(): Session | undefined {
  try {
    const raw = sessionStorage.getItem(SESSION_KEY);
    const session = raw ? (JSON.parse(raw) as Session) : undefined;
    return session && typeof session.token === 'string' ? session : undefined;
  } catch {
    return undefined;
  }
}

export function saveSession(session: Session): void {
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
}

export function clearSession(): void {
  sessionStorage.removeItem(SESSION_KEY);
}

/** A session for a token from the identity provider or pasted: its expiry is the JWT's exp. */
export function sessionFromToken(token: string): Session {
  const { exp, sub } = jwtClaims(token);
  return { token, expiresAt: exp === undefined ? undefined : exp * 1000, memberId: sub };
}

export const isExpired = (session: Session, now = Date.now()) => session.expiresAt !== undefined && session.expiresAt <= now;

/** Where to go back to after signing in (a hash route). */
export function rememberReturnTo(hash: string): void {
  if (!hash.startsWith('#/sign-in')) sessionStorage.setItem(RETURN_KEY, hash || '#/');
}

export function takeReturnTo(): string {
  const hash = sessionStorage.getItem(RETURN_KEY) ?? '#/';
  sessionStorage.removeItem(RETURN_KEY);
  return hash;
}
