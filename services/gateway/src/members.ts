import type Router from '@koa/router';
import {
  AppError,
  MEMBER_NAME_HEADER,
  encodeNameHeader,
  myRecipesQuerySchema,
  parseInput,
  profileUpdateSchema,
  retryNotSent,
  type InvokeOptions,
  type Sidecar,
} from '@recipe/shared';
import type { Context } from 'koa';

type Call = (ctx: Context, appId: string, method: string, options?: InvokeOptions) => Promise<unknown>;

/** The caller's token name for a service (see MEMBER_NAME_HEADER); none if the token had none. */
export const memberNameHeader = (ctx: Context): Record<string, string> =>
  typeof ctx.state.memberName === 'string' ? { [MEMBER_NAME_HEADER]: encodeNameHeader(ctx.state.memberName) } : {};

const me = (ctx: Context) => encodeURIComponent(ctx.state.memberId as string);

/** GET /myrecipes (the write side's list, myrecipe), GET and PUT /members/me (the profile, mypage). */
export function memberRoutes(router: Router, call: Call, apps: { myrecipe: string; mypage: string }) {
  router.get('/myrecipes', async (ctx) => {
    const { limit, cursor } = parseInput(myRecipesQuerySchema, ctx.query, 'query');
    const query = new URLSearchParams({ limit: String(limit), ...(cursor ? { cursor } : {}) });
    ctx.body = await call(ctx, apps.myrecipe, `members/${me(ctx)}/recipes?${query}`);
  });

  router.get('/members/me', async (ctx) => {
    ctx.body = await call(ctx, apps.mypage, `profiles/${me(ctx)}`);
  });

  router.put('/members/me', async (ctx) => {
    const body = parseInput(profileUpdateSchema, ctx.request.body);
    ctx.body = await call(ctx, apps.mypage, `profiles/${me(ctx)}`, { method: 'PUT', body });
  });
}

/** Anything shown with an author: the catalogue's items, a recipe, a recommendation's answer. */
interface Authored {
  authorId?: unknown;
}
type WithAuthor<T> = Omit<T, 'authorId'> & { author: { displayName: string } };

/**
 * Authors are shown by display name, never by their login subject: the
 * services answer with `authorId`, and the gateway swaps it for the name the
 * read model (mypage) keeps, for a whole page in one call. If the names
 * cannot be had, a listing fails with 503 (nothing changed, retry); one
 * recipe is shown by "A member".
 */
export function authorNames(sidecar: Sidecar, mypage: string, retryAfterSeconds: number) {
  async function namesOf(ids: string[]): Promise<Record<string, string>> {
    if (!ids.length) return {};
    try {
      const answer = await retryNotSent(
        () => sidecar.invoke<{ names: Record<string, string> }>(mypage, 'display-names', { method: 'POST', body: { memberIds: ids } }),
        { read: true },
      );
      return answer.names;
    } catch (err) {
      throw new AppError(503, 'SERVICE.UNAVAILABLE', 'the service is busy or unavailable, please retry shortly', {
        retryAfterSeconds,
        cause: err,
      });
    }
  }

  const swap = <T extends Authored>({ authorId, ...rest }: T, names: Record<string, string>): WithAuthor<T> => ({
    ...rest,
    author: { displayName: (typeof authorId === 'string' && names[authorId]) || 'A member' },
  });

  return {
    async many<T extends Authored>(items: T[]): Promise<WithAuthor<T>[]> {
      const names = await namesOf([...new Set(items.map((i) => i.authorId).filter((id): id is string => typeof id === 'string'))]);
      return items.map((item) => swap(item, names));
    },
    /** One recipe's page: without the names, its author is shown as "A member" rather than no page at all. */
    async one<T extends Authored>(item: T): Promise<WithAuthor<T>> {
      const names = await namesOf(typeof item.authorId === 'string' ? [item.authorId] : []).catch(() => ({}));
      return swap(item, names);
    },
  };
}

/** A recommendation's answer names no author at all: no extra call after a committed write. */
export function withoutAuthor<T extends Authored>({ authorId: _author, ...rest }: T): Omit<T, 'authorId'> {
  return rest;
}
