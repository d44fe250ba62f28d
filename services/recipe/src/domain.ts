import type { Recommended, Registered } from '@recipe/shared';

/** One member's recommendation: what it earned, and when. */
export interface Recommendation {
  by: string;
  points: number;
  at: string;
}

/**
 * A recipe in the recommendation catalogue is a head record and up to
 * BUCKETS bucket records, each written whole with its ETag (every change to
 * one record is atomic; nothing depends on two records changing together).
 *
 * The head says what the recipe is and whether it is recommendable. It can
 * exist before its Registered event arrives (a withdrawal or Deleted came
 * first): then it has no title and is not recommendable.
 */
export interface RecipeHead {
  recipeId: string;
  authorId: string;
  title?: string;
  registeredAt?: string;
  /**
   * Goes up with every hold. A bucket is written only by someone who read a
   * head whose epoch is at least the bucket's; a withdrawal stamps every
   * bucket with its new epoch, so a recommendation that read the head before
   * the hold can no longer land in any bucket.
   */
  epoch: number;
  /** Delete attempts holding the points (attempt id -> when): no recommendation while any is on. */
  holds?: Record<string, string>;
  /** Delete attempts whose hold was released: a withdrawal for them arriving late is refused. */
  released?: string[];
  /** Deleted (the Deleted event arrived): the withdrawal is final. */
  deletedAt?: string;
  /** Recommendations from before buckets (records written by earlier versions): read, never written. */
  legacy?: Recommendation[];
  /**
   * Each bucket's points and recommendations as last copied here (by the
   * request that recommended, or the outbox relay after it): the totals a
   * reader gets from the head alone. Copies only ever grow; once every
   * recommendation's relay has run, they are the buckets' own.
   */
  copied?: { points: number[]; recommendations: number[] };
}

/**
 * The recommendations of the members that hash to one bucket. Spreading them
 * keeps the cost of a recommendation from growing with the recipe: a member's
 * recommendation reads and writes one bucket of about n / BUCKETS entries.
 */
export interface Bucket {
  epoch: number;
  points: number;
  recommendations: Recommendation[];
  /** Recommendation attempts the outbox relay gave up on: they can never commit. */
  fenced?: string[];
}

export const BUCKETS = 16;

export interface Rules {
  pointValue: number;
}

/** Which bucket a member's recommendation of any recipe lives in (FNV-1a of the member id). */
export function bucketOf(memberId: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < memberId.length; i++) {
    hash ^= memberId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % BUCKETS;
}

export const emptyBucket = (epoch: number): Bucket => ({ epoch, points: 0, recommendations: [] });

const isHeld = (head: RecipeHead) => Object.keys(head.holds ?? {}).length > 0;

export const isLive = (head: RecipeHead) => head.title !== undefined && head.deletedAt === undefined && !isHeld(head);

export function placeholder(recipeId: string, authorId: string): RecipeHead {
  return { recipeId, authorId, epoch: 0 };
}

/** Registered fills in a placeholder (keeping a hold or deletion that came first); a duplicate changes nothing. */
export function register(head: RecipeHead, e: Pick<Registered, 'title' | 'registeredAt'>): RecipeHead | undefined {
  if (head.title !== undefined) return undefined;
  return { ...head, title: e.title, registeredAt: e.registeredAt };
}

/** A member's recommendation of this recipe, wherever it is. */
export const recommendationOf = (head: RecipeHead, bucket: Bucket | undefined, memberId: string) =>
  bucket?.recommendations.find((r) => r.by === memberId) ?? head.legacy?.find((r) => r.by === memberId);

export type RecommendOutcome =
  | { kind: 'not-found' }
  | { kind: 'own-recipe' }
  | { kind: 'duplicate' }
  /** The head read is older than the bucket (a withdrawal stamped it since): read again. */
  | { kind: 'stale' }
  | { kind: 'recommended'; bucket: Bucket };

export function recommend(
  head: RecipeHead | undefined,
  bucket: Bucket | undefined,
  recommenderId: string,
  now: Date,
  rules: Rules,
): RecommendOutcome {
  if (!head || !isLive(head)) return { kind: 'not-found' };
  if (head.authorId === recommenderId) return { kind: 'own-recipe' };
  if (recommendationOf(head, bucket, recommenderId)) return { kind: 'duplicate' };
  if (bucket && bucket.epoch > head.epoch) return { kind: 'stale' };
  const current = bucket ?? emptyBucket(head.epoch);
  return {
    kind: 'recommended',
    bucket: {
      ...current,
      epoch: head.epoch,
      points: current.points + rules.pointValue,
      recommendations: [...current.recommendations, { by: recommenderId, points: rules.pointValue, at: now.toISOString() }],
    },
  };
}

/** The recipe's points and number of recommendations, over all its buckets (exact). */
export function totals(head: RecipeHead, buckets: (Bucket | undefined)[]) {
  const legacy = head.legacy ?? [];
  return {
    points: buckets.reduce(
      (sum, b) => sum + (b?.points ?? 0),
      legacy.reduce((sum, r) => sum + r.points, 0),
    ),
    recommendations: buckets.reduce((sum, b) => sum + (b?.recommendations.length ?? 0), legacy.length),
  };
}

const zeros = () => Array.from({ length: BUCKETS }, () => 0);

/**
 * The recipe's totals from its head's copies, with the buckets given fresh
 * (read just now) in place of their copies.
 */
export function copiedTotals(head: RecipeHead, fresh: Map<number, Bucket | undefined> = new Map()) {
  const points = head.copied?.points ?? zeros();
  const counts = head.copied?.recommendations ?? zeros();
  const legacy = head.legacy ?? [];
  let total = legacy.reduce((sum, r) => sum + r.points, 0);
  let recommendations = legacy.length;
  for (let b = 0; b < BUCKETS; b++) {
    const bucket = fresh.get(b);
    total += fresh.has(b) ? (bucket?.points ?? 0) : (points[b] ?? 0);
    recommendations += fresh.has(b) ? (bucket?.recommendations.length ?? 0) : (counts[b] ?? 0);
  }
  return { points: total, recommendations };
}

/** The head with a bucket's totals copied in, if they are newer than its copy (undefined: nothing to copy). */
export function withCopy(head: RecipeHead, b: number, bucket: Bucket | undefined): RecipeHead | undefined {
  if (!bucket) return undefined;
  const points = [...(head.copied?.points ?? zeros())];
  const counts = [...(head.copied?.recommendations ?? zeros())];
  if ((points[b] ?? 0) >= bucket.points && (counts[b] ?? 0) >= bucket.recommendations.length) return undefined;
  points[b] = Math.max(points[b] ?? 0, bucket.points);
  counts[b] = Math.max(counts[b] ?? 0, bucket.recommendations.length);
  return { ...head, copied: { points, recommendations: counts } };
}

/**
 * The Recommended event of a member's recommendation: the points it earned,
 * and the recipe's total as read after it committed. Totals only grow while a
 * recipe takes recommendations, so the largest copy a subscriber sees is the
 * recipe's final total.
 */
export function recommendedEvent(
  head: RecipeHead,
  bucket: Bucket | undefined,
  memberId: string,
  recipePoints: number,
): Recommended | undefined {
  const r = recommendationOf(head, bucket, memberId);
  if (!r) return undefined;
  return { recipeId: head.recipeId, authorId: head.authorId, recommenderId: memberId, points: r.points, recipePoints, recommendedAt: r.at };
}

export type WithdrawOutcome = { held: true; head?: RecipeHead } | { held: false };

/** Holds the points for a delete attempt (idempotent); refused if that attempt's hold was released already. */
export function withdraw(head: RecipeHead, attempt: string, now: Date): WithdrawOutcome {
  if (head.deletedAt !== undefined || head.holds?.[attempt] !== undefined) return { held: true };
  if (head.released?.includes(attempt)) return { held: false };
  return { held: true, head: { ...head, epoch: head.epoch + 1, holds: { ...head.holds, [attempt]: now.toISOString() } } };
}

/** A bucket as a withdrawal leaves it: stamped with the head's epoch (undefined: already is). */
export function stamp(bucket: Bucket | undefined, epoch: number): Bucket | undefined {
  if (bucket && bucket.epoch >= epoch) return undefined;
  return { ...(bucket ?? emptyBucket(epoch)), epoch };
}

/** Releases a delete attempt's hold, and remembers it so that a late withdrawal for it is refused. */
export function releaseHold(head: RecipeHead, attempt: string): RecipeHead | undefined {
  if (head.deletedAt !== undefined || head.released?.includes(attempt)) return undefined;
  const { [attempt]: _released, ...holds } = head.holds ?? {};
  return { ...head, holds, released: [...(head.released ?? []), attempt] };
}

/** Deleted arrived: the withdrawal is final, whichever attempt made it. */
export function confirmDeletion(head: RecipeHead, deletedAt: string): RecipeHead | undefined {
  if (head.deletedAt !== undefined) return undefined;
  return { ...head, deletedAt, holds: {} };
}

export function fence(bucket: Bucket | undefined, epoch: number, attempt: string): Bucket {
  const current = bucket ?? emptyBucket(epoch);
  return { ...current, fenced: [...(current.fenced ?? []), attempt] };
}

/** The head with every bucket's exact totals copied in (after a withdrawal has read them all). */
export function withExactCopies(head: RecipeHead, buckets: (Bucket | undefined)[]): RecipeHead {
  return {
    ...head,
    copied: { points: buckets.map((b) => b?.points ?? 0), recommendations: buckets.map((b) => b?.recommendations.length ?? 0) },
  };
}

/** What members see of a recipe: its totals from the head's copies, with any bucket just read in place of its copy. */
export function publicView(head: RecipeHead, fresh: Map<number, Bucket | undefined> = new Map()) {
  return {
    recipeId: head.recipeId,
    authorId: head.authorId,
    title: head.title,
    registeredAt: head.registeredAt,
    ...copiedTotals(head, fresh),
  };
}
