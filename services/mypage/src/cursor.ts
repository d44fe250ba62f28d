import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { AppError } from '@recipe/shared';
import { z } from 'zod';

/**
 * Opaque, tamper-evident paging cursors: the position as base64url JSON and
 * an HMAC-SHA256 over it and the listing it belongs to (`scope`: the
 * catalogue with its search, or one member's page), so a cursor edited,
 * forged, or taken to another listing or member is a 400.
 *
 * The key is derived with HKDF-SHA256 (label "cursor") from mypage's
 * APP_API_TOKEN, which every replica shares and nobody outside sees: a cursor
 * made by one replica opens on any other. Without a token (INSECURE_DEV_MODE
 * only) the key is random per process, so a cursor opens only on the replica
 * that made it.
 */
export function createCursors(secret: string | undefined, clock: () => number = Date.now) {
  const key = secret ? Buffer.from(hkdfSync('sha256', secret, '', 'cursor', 32)) : randomBytes(32);
  const mac = (scope: string, body: string) => createHmac('sha256', key).update(`${scope}\n${body}`).digest().subarray(0, 16);
  const refuse = (message: string) =>
    new AppError(400, 'REQUEST.INVALID', `invalid query: cursor: ${message}`, { details: [{ field: 'cursor', message }] });

  return {
    /** `at`: when what the cursor continues began (the catalogue's snapshot), in seconds; now by default. */
    seal(scope: string, position: unknown, at = Math.floor(clock() / 1000)): string {
      const body = Buffer.from(JSON.stringify({ at, position })).toString('base64url');
      return `${body}.${mac(scope, body).toString('base64url')}`;
    },

    /** The position sealed in `cursor`, or a 400 if this listing did not seal it, or its `at` is more than `maxAgeSeconds` ago. */
    open<T>(scope: string, cursor: string, schema: z.ZodType<T>, maxAgeSeconds = Infinity): T {
      return unseal(scope, cursor, schema, maxAgeSeconds).position;
    },

    /** The same, with the `at` it was sealed with (to seal the next page's cursor with). */
    unseal,
  };

  function unseal<T>(scope: string, cursor: string, schema: z.ZodType<T>, maxAgeSeconds = Infinity): { position: T; at: number } {
    const [body, tag, ...rest] = cursor.split('.');
    const foreign = refuse('not a cursor this listing returned (it was changed, or belongs to another query or member)');
    if (!body || !tag || rest.length) throw foreign;
    const given = Buffer.from(tag, 'base64url');
    const expected = mac(scope, body);
    // The tag's canonical spelling only: base64url ignores a last character's spare bits.
    if (given.length !== expected.length || !timingSafeEqual(given, expected) || given.toString('base64url') !== tag) throw foreign;
    const sealed = z.object({ at: z.number(), position: schema }).safeParse(parseJson(Buffer.from(body, 'base64url').toString('utf8')));
    if (!sealed.success) throw foreign;
    if (clock() / 1000 - sealed.data.at > maxAgeSeconds) throw refuse('expired: start again from the first page');
    return { position: sealed.data.position, at: sealed.data.at };
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export type Cursors = ReturnType<typeof createCursors>;
