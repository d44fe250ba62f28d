import type { AddressInfo } from 'node:net';
import { createLogger } from '@recipe/shared';
import { SignJWT } from 'jose';
import { fakeSidecar } from '../../../packages/shared/test/fake-sidecar.js';
import { createApp } from '../src/app.js';
import { createAuthenticator, type Authenticator } from '../src/auth.js';
import type { WebOptions } from '../src/web.js';

// The gateway's app in-process, listening on a free port, with a fake sidecar behind it.

export const secret = 'a-test-signing-key-of-enough-length';
export const log = createLogger('test', 'silent');
export const recipeId = '6f1c1f5e-3b0a-4a57-9d77-2b6f0d9b8f11';

export const sign = (sub: string, { expiresIn = '1h', key = secret } = {}) =>
  new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setExpirationTime(expiresIn).sign(new TextEncoder().encode(key));

export async function gateway(
  t: { teardown: (fn: () => void) => void },
  {
    registrationMaxInFlight = 64,
    registrationBreaker = { failures: 5, openSeconds: 10 },
    auth = undefined as Authenticator | undefined,
    web = undefined as Omit<WebOptions, 'log'> | undefined,
  } = {},
) {
  const fake = fakeSidecar();
  const app = createApp({
    registrationMaxInFlight,
    registrationBreaker,
    sidecar: fake.sidecar,
    auth: auth ?? createAuthenticator({ key: { secret: async () => secret }, log }),
    apps: { myrecipe: 'myrecipe', recipe: 'recipe', mypage: 'mypage' },
    log,
    bodyLimitBytes: 1024,
    retryAfterSeconds: 5,
    web: web && { ...web, log },
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  t.teardown(() => server.close());
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const call = async (method: string, path: string, init: { token?: string; body?: string; headers?: Record<string, string> } = {}) => {
    const headers: Record<string, string> = { ...init.headers };
    if (init.token) headers.authorization = `Bearer ${init.token}`;
    const res = await fetch(base + path, { method, headers, body: init.body });
    return { status: res.status, headers: res.headers, body: await res.json() };
  };
  return { fake, call, base, app };
}
