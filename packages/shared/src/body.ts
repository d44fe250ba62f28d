import type { Context, Next } from 'koa';
import { AppError } from './errors.js';

const JSON_TYPES = ['application/json', 'application/cloudevents+json'];

/** Reads a JSON body with a hard size limit: 413 past it, 415 for other media types, 400 for bad JSON. */
export function jsonBody(limitBytes: number) {
  return async (ctx: Context, next: Next) => {
    if (ctx.method === 'GET' || ctx.method === 'HEAD') {
      await next();
      return;
    }
    if (Number(ctx.get('content-length') || 0) > limitBytes) throw tooLarge(limitBytes);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > limitBytes) throw tooLarge(limitBytes);
      chunks.push(chunk);
    }
    // An empty body is no body, whatever its headers say (Dapr forwards some as chunked).
    if (size > 0) {
      if (!JSON_TYPES.includes(ctx.request.type)) {
        throw new AppError(415, 'REQUEST.UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json');
      }
      ctx.request.body = parseJson(Buffer.concat(chunks));
    }
    await next();
  };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
/** A lone surrogate: \p{Cs} only matches halves that are not part of a pair under the u flag. */
const LONE_SURROGATE = /\p{Cs}/u;

/** Strict UTF-8, valid JSON, and no string (key or value) that is not well-formed Unicode. */
function parseJson(bytes: Buffer): unknown {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new AppError(400, 'REQUEST.MALFORMED', 'the body is not valid UTF-8');
  }
  try {
    return JSON.parse(text, (key, value: unknown) => {
      if (LONE_SURROGATE.test(key) || (typeof value === 'string' && LONE_SURROGATE.test(value))) throw new TypeError('ill-formed');
      return value;
    });
  } catch (err) {
    const message = err instanceof TypeError ? 'the body holds text that is not well-formed Unicode' : 'the body is not valid JSON';
    throw new AppError(400, 'REQUEST.MALFORMED', message);
  }
}

function tooLarge(limitBytes: number) {
  return new AppError(413, 'REQUEST.TOO_LARGE', `the request body is larger than ${limitBytes} bytes`);
}
