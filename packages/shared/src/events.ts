import { z } from 'zod';

/**
 * The contract between services: one topic per event, CloudEvents whose
 * `data` matches these schemas. Event ids are derived from what happened, so
 * a redelivery, or the same event published twice, carries the same id.
 */
export const TOPICS = {
  registered: 'Registered',
  recommended: 'Recommended',
  deleted: 'Deleted',
} as const;

export type Topic = (typeof TOPICS)[keyof typeof TOPICS];

/**
 * A member id is the JWT subject: bounded, free of characters that break
 * state keys ('||') and URLs, and with a letter or digit (so never "." or "..",
 * which a URL path would resolve away).
 */
export const memberIdSchema = z
  .string()
  .regex(/^(?=.*[A-Za-z0-9])[A-Za-z0-9._@:-]{1,128}$/, 'member id must be 1-128 of A-Z a-z 0-9 . _ @ : -, with a letter or digit');
export const recipeIdSchema = z.uuid({ message: 'recipe id must be a UUID' });
const timestamp = z.iso.datetime({ offset: true });
const points = z.number().int().min(0);

export const registeredSchema = z.object({
  recipeId: recipeIdSchema,
  memberId: memberIdSchema,
  title: z.string().min(1).max(200),
  /** Optional: events published before the read model searched ingredients carry none. */
  ingredients: z.array(z.string().min(1).max(200)).max(100).optional(),
  registeredAt: timestamp,
  /** The author's name from their identity token, if it had one: the read model's default display name for them. */
  authorName: z.string().min(1).max(200).optional(),
});

export const recommendedSchema = z.object({
  recipeId: recipeIdSchema,
  authorId: memberIdSchema,
  recommenderId: memberIdSchema,
  points: points.min(1),
  recipePoints: points,
  recommendedAt: timestamp,
});

export const deletedSchema = z.object({
  recipeId: recipeIdSchema,
  memberId: memberIdSchema,
  pointsRevoked: points,
  deletedAt: timestamp,
});

export type Registered = z.infer<typeof registeredSchema>;
export type Recommended = z.infer<typeof recommendedSchema>;
export type Deleted = z.infer<typeof deletedSchema>;

const eventIds = {
  registered: (e: Pick<Registered, 'recipeId'>) => `${TOPICS.registered}:${e.recipeId}`,
  recommended: (e: Pick<Recommended, 'recipeId' | 'recommenderId'>) => `${TOPICS.recommended}:${e.recipeId}:${e.recommenderId}`,
  deleted: (e: Pick<Deleted, 'recipeId'>) => `${TOPICS.deleted}:${e.recipeId}`,
};

/** An event ready to publish: where it goes, its id, its payload. */
export interface OutgoingEvent {
  topic: Topic;
  id: string;
  data: Registered | Recommended | Deleted;
}

export const registeredEvent = (data: Registered): OutgoingEvent => ({ topic: TOPICS.registered, id: eventIds.registered(data), data });
export const recommendedEvent = (data: Recommended): OutgoingEvent => ({ topic: TOPICS.recommended, id: eventIds.recommended(data), data });
export const deletedEvent = (data: Deleted): OutgoingEvent => ({ topic: TOPICS.deleted, id: eventIds.deleted(data), data });
