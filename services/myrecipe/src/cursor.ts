import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { AppError } from '@recipe/shared';
import { z } from 'zod';

/**
 * Opaque, tamper-evident paging cursors: the position, base64url JSON, and an
 * HMAC over it and the listing it belongs to (`scope`: one member's list), so
 * a cursor edited, forged, or taken to another member's listing is refused.
 *
 * The key is derived (HKDF-SHA256, label "cursor") from the app's
 * APP_API_TOKEN, which every replica shares: a cursor from one replica opens
 * on any other. Without a token (INSECURE_DEV_MODE only) the key is random
 * per process, so cursors then only open on the replica that made them.
 */
export function createCursors(secret: string | undefined) {
  const key = secret ? Buffer.from(hkdfSync('sha256', secret, '', 'cursor', 32)) : randomBytes(32);
  const mac = (scope: string, body: string) => createHmac('sha256', key).update(`${scope}\n${body}`).digest();
  const invalid = () =>
    new AppError(400, 'REQUEST.INVALID', 'invalid query: cursor: not a cursor this listing returned', {
      details: [{ field: 'cursor', message: 'not a cursor this listing returned' }],
    });

  return {
    seal(scope: string, position: unknown): string {
      const body = Buffer.from(JSON.stringify(position)).toString('base64url');
      return `${body}.${mac(scope, body).toString('base64url')}`;
    },

    /** The position in `cursor`, or a 400 if it is not one this listing sealed. */
    open<T>(scope: string, cursor: string, schema: z.ZodType<T>): T {
      const [body, tag, ...rest] = cursor.split('.');
      if (!body || !tag || rest.length) throw invalid();
      const given = Buffer.from(tag, 'base64url');
      const expected = mac(scope, body);
      // The tag's canonical spelling only: base64url ignores a last character's spare bits.
      if (given.length !== expected.length || !timingSafeEqual(given, expected) || given.toString('base64url') !== tag) throw invalid();
      let position: unknown;
      try {
        position = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
      } catch {
        throw invalid();
      }
      const parsed = schema.safeParse(position);
      if (!parsed.success) throw invalid();
      return parsed.data;
    },
  };
}

export type Cursors = ReturnType<typeof createCursors>;
