import type { Context } from 'koa';
import type { z } from 'zod';
import { AppError } from './errors.js';
import { memberIdSchema, recipeIdSchema } from './events.js';

/** The gateway puts the authenticated member here; services never take it from a body. */
export const MEMBER_HEADER = 'x-member-id';

/** Validates input against a schema; a failure is a 400 naming each field at fault. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, what = 'body'): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const details = result.error.issues.slice(0, 20).map((issue) => ({
    field: issue.path.length ? issue.path.join('.') : what,
    message: issue.message,
  }));
  throw new AppError(400, 'REQUEST.INVALID', `invalid ${what}: ${details.map((d) => `${d.field}: ${d.message}`).join('; ')}`, { details });
}

export function memberOf(ctx: Context): string {
  const header = ctx.get(MEMBER_HEADER);
  if (!header) throw new AppError(401, 'AUTH.NO_MEMBER', 'no authenticated member on this call');
  return parseInput(memberIdSchema, header, MEMBER_HEADER);
}

/** Router path parameters (Koa's context types them loosely). */
type WithParams = { params?: unknown } | { params: Record<string, string | undefined> };
const param = (ctx: WithParams, name: string): unknown => (ctx.params as Record<string, unknown> | undefined)?.[name];

/** The `:recipeId` of the route, a UUID, or a 400. */
export const recipeIdOf = (ctx: WithParams) => parseInput(recipeIdSchema, param(ctx, 'recipeId'), 'recipe id');
/** The `:memberId` of the route, or a 400. */
export const memberIdOf = (ctx: WithParams) => parseInput(memberIdSchema, param(ctx, 'memberId'), 'member id');
