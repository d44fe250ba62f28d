import { DEFAULT_PAGE_LIMIT, type CatalogueQuery, type MyPageQuery } from '@recipe/shared';
import type { Knex } from 'knex';
import { z } from 'zod';
import type { Cursors } from './cursor.js';
import type { RecipeRow } from './store.js';
import { ingredientKey, searchQuery, SEARCH_QUERY_SQL } from './search.js';

/** A catalogue cursor older than this is refused: the rows changed since its snapshot are read on every page. */
export const CATALOGUE_CURSOR_MAX_AGE_SECONDS = 3600;

/** A listed row with the keys its page is ordered by. */
export interface ListedRow extends RecipeRow {
  /** registered_at as PostgreSQL prints it: exact to the microsecond, unlike a JS Date. */
  at_key: string;
  /** Its points as of the cursor's snapshot (the order), while `points` is what it has now (what is shown). */
  snap_points: number;
  /** Relevance to the search, as numeric text (exact in the cursor); '0' without a search. */
  rank: string;
}

const COLUMNS = 'r.recipe_id, r.member_id, r.title, r.registered_at, r.points, r.deleted_at, r.registered_at::text AS at_key';
const LIVE = 'r.deleted_at IS NULL AND r.title IS NOT NULL';
/** A row's points as of snapshot S (bound twice): unchanged since S, or the largest total S saw in points_log. */
const POINTS_AS_OF = `CASE WHEN r.changed_xid < pg_snapshot_xmin(?::pg_snapshot) THEN r.points ELSE
  (SELECT coalesce(max(l.points), 0) FROM points_log l WHERE l.recipe_id = r.recipe_id AND pg_visible_in_snapshot(l.xid, ?::pg_snapshot)) END`;

const catalogueCursor = z.object({
  snapshot: z.string().regex(/^\d+:\d+:[\d,]*$/),
  after: z.tuple([z.string(), z.number().int(), z.string(), z.uuid()]).optional(),
});
const myPageCursor = z.object({ after: z.tuple([z.string(), z.uuid()]) });

/**
 * The listings, paged by keyset: each page continues after the last row of
 * the one before, found through an index, so a page's cost does not grow
 * with how deep it is. See docs/DESIGN.md "Listings" for the guarantee.
 */
export function createListings(db: Knex, cursors: Cursors) {
  /**
   * The catalogue as of the snapshot of its first page: the recipes listed
   * then and not deleted since, by their points then (most first), newest
   * first among equal points, each showing its points now. Rows unchanged
   * since the snapshot come in index order (at most `limit` of them read);
   * those changed since (few: the cursor lives an hour) are looked up in
   * points_log.
   */
  async function browse(snapshot: string, after: readonly [number, string, string] | undefined, limit: number) {
    const keyset = (prefix: string) =>
      after ? `AND (${prefix}points, ${prefix}registered_at, ${prefix}recipe_id) < (?, ?::timestamptz, ?::uuid)` : '';
    const afterBindings = after ? [...after] : [];
    const { rows } = await db.raw<{ rows: ListedRow[] }>(
      `SELECT *, '0' AS rank FROM (
         (SELECT ${COLUMNS}, r.points AS snap_points FROM recipes r
           WHERE ${LIVE} AND r.changed_xid < pg_snapshot_xmin(?::pg_snapshot) ${keyset('r.')}
           ORDER BY r.points DESC, r.registered_at DESC, r.recipe_id DESC LIMIT ?)
         UNION ALL
         (SELECT ${COLUMNS}, ${POINTS_AS_OF} AS snap_points FROM recipes r
           WHERE ${LIVE} AND r.changed_xid >= pg_snapshot_xmin(?::pg_snapshot) AND pg_visible_in_snapshot(r.listed_xid, ?::pg_snapshot))
       ) page
       WHERE true ${after ? 'AND (snap_points, registered_at, recipe_id) < (?, ?::timestamptz, ?::uuid)' : ''}
       ORDER BY snap_points DESC, registered_at DESC, recipe_id DESC LIMIT ?`,
      [snapshot, ...afterBindings, limit, snapshot, snapshot, snapshot, snapshot, ...afterBindings, limit],
    );
    return rows;
  }

  /**
   * Search and ingredient filter, on the same snapshot: by relevance (ts_rank
   * over whole words, title above ingredients; a match only as a substring
   * ranks 0), then as browse orders. A search reads every match (ranking
   * needs them all) through the GIN indexes, never the whole table.
   */
  async function search(
    q: string | undefined,
    ingredient: string | undefined,
    snapshot: string,
    after: CatalogueKeys | undefined,
    limit: number,
  ) {
    const s = q === undefined ? undefined : searchQuery(q);
    const matches: string[] = [];
    const bindings: (string | number)[] = [];
    let rank = "'0'::numeric";
    const rankBindings: string[] = [];
    if (s) {
      rank = `round(ts_rank(r.search, ${SEARCH_QUERY_SQL})::numeric, 6)`;
      rankBindings.push(s.english, s.hangul);
      matches.push(`(r.search @@ ${SEARCH_QUERY_SQL}${s.like ? ' OR r.search_text ILIKE ?' : ''})`);
      bindings.push(s.english, s.hangul, ...(s.like ? [s.like] : []));
    }
    if (ingredient !== undefined) {
      matches.push('r.ingredient_keys @> ARRAY[?]::text[]');
      bindings.push(ingredientKey(ingredient));
    }
    const { rows } = await db.raw<{ rows: ListedRow[] }>(
      `SELECT * FROM (
         SELECT ${COLUMNS}, ${POINTS_AS_OF} AS snap_points, ${rank} AS rank FROM recipes r
         WHERE ${LIVE} AND pg_visible_in_snapshot(r.listed_xid, ?::pg_snapshot) AND ${matches.join(' AND ')}
       ) m
       WHERE true ${after ? 'AND (rank, snap_points, registered_at, recipe_id) < (?::numeric, ?, ?::timestamptz, ?::uuid)' : ''}
       ORDER BY rank DESC, snap_points DESC, registered_at DESC, recipe_id DESC LIMIT ?`,
      [snapshot, snapshot, ...rankBindings, snapshot, ...bindings, ...(after ?? []), limit],
    );
    return rows;
  }

  return {
    /** GET /catalogue: the keyset form, or the deprecated OFFSET form when `page` or `size` is given. */
    async catalogue(query: CatalogueQuery) {
      if (query.page !== undefined || query.size !== undefined) {
        const [page, size] = [query.page ?? 1, query.size ?? DEFAULT_PAGE_LIMIT];
        const rows = await db<RecipeRow>('recipes')
          .whereNull('deleted_at')
          .whereNotNull('title')
          .orderBy([
            { column: 'points', order: 'desc' },
            { column: 'registered_at', order: 'desc' },
            { column: 'recipe_id', order: 'desc' },
          ])
          .limit(size + 1)
          .offset((page - 1) * size);
        return { rows: rows.slice(0, size), page: { page, size, hasMore: rows.length > size } };
      }
      const limit = query.limit ?? DEFAULT_PAGE_LIMIT;
      const scope = `catalogue\n${query.q ?? ''}\n${query.ingredient ?? ''}`;
      // Every page's cursor carries the time of the first page's snapshot: a snapshot is never older than the limit.
      const opened = query.cursor ? cursors.unseal(scope, query.cursor, catalogueCursor, CATALOGUE_CURSOR_MAX_AGE_SECONDS) : undefined;
      const position = opened?.position;
      const snapshot = position?.snapshot ?? (await currentSnapshot(db));
      const after = position?.after;
      const searching = query.q !== undefined || query.ingredient !== undefined;
      const rows = searching
        ? await search(query.q, query.ingredient, snapshot, after, limit + 1)
        : await browse(snapshot, after && [after[1], after[2], after[3]], limit + 1);
      const last = rows.length > limit ? rows[limit - 1] : undefined;
      const nextCursor = last
        ? cursors.seal(scope, { snapshot, after: [String(last.rank), Number(last.snap_points), last.at_key, last.recipe_id] }, opened?.at)
        : null;
      return { rows: rows.slice(0, limit), page: { limit, hasMore: nextCursor !== null, nextCursor } };
    },

    /**
     * GET /mypages/:member: the member's live recipes, newest first (by
     * registered_at, which never changes once listed), and their balance: the
     * points of all of them, summed from an index alone.
     */
    async memberPage(memberId: string, query: MyPageQuery) {
      const scope = `mypage\n${memberId}`;
      const after = query.cursor ? cursors.open(scope, query.cursor, myPageCursor).after : undefined;
      const [{ rows }, total] = await Promise.all([
        db.raw<{ rows: ListedRow[] }>(
          `SELECT ${COLUMNS} FROM recipes r WHERE r.member_id = ? AND ${LIVE} ${after ? 'AND (r.registered_at, r.recipe_id) < (?::timestamptz, ?::uuid)' : ''}
           ORDER BY r.registered_at DESC, r.recipe_id DESC LIMIT ?`,
          [memberId, ...(after ?? []), query.limit + 1],
        ),
        db.raw<{ rows: { balance: string | number }[] }>(
          `SELECT coalesce(sum(r.points), 0) AS balance FROM recipes r WHERE r.member_id = ? AND ${LIVE}`,
          [memberId],
        ),
      ]);
      const last = rows.length > query.limit ? rows[query.limit - 1] : undefined;
      const nextCursor = last ? cursors.seal(scope, { after: [last.at_key, last.recipe_id] }) : null;
      return {
        rows: rows.slice(0, query.limit),
        balance: Number(total.rows[0]?.balance ?? 0),
        page: { limit: query.limit, hasMore: nextCursor !== null, nextCursor },
      };
    },
  };
}

type CatalogueKeys = readonly [string, number, string, string];

async function currentSnapshot(db: Knex): Promise<string> {
  const { rows } = await db.raw<{ rows: { snapshot: string }[] }>('SELECT pg_current_snapshot()::text AS snapshot');
  return rows[0]!.snapshot;
}

export type Listings = ReturnType<typeof createListings>;
