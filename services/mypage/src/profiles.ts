import { randomInt } from 'node:crypto';
import type Router from '@koa/router';
import {
  MEMBER_NAME_HEADER,
  decodeNameHeader,
  memberIdOf,
  memberIdSchema,
  parseInput,
  profileUpdateSchema,
  type Profile,
  type Registered,
} from '@recipe/shared';
import type { Knex } from 'knex';
import type { Context } from 'koa';
import { z } from 'zod';

/**
 * Members' display names, in the read model. Three sources, the first there
 * wins: the name the member set (PUT /members/me), the name claim of their
 * identity token (the latest seen: from Registered events and their own
 * GET/PUT of /members/me), and a neutral name generated at random once, never
 * derived from the login subject. Every write is one upsert whose outcome does
 * not depend on order or repetition (the token name keeps the latest by time),
 * so two replicas and events in any order agree.
 */
export interface ProfileRow {
  member_id: string;
  display_name: string | null;
  token_name: string | null;
  token_name_at: Date | null;
  generated_name: string;
  updated_at: Date;
}

export const memberProfilesMigration = {
  name: '004_member_profiles',
  async up(db: Knex) {
    await db.schema.createTable('member_profiles', (t) => {
      t.text('member_id').primary();
      t.text('display_name');
      t.text('token_name');
      t.timestamp('token_name_at', { useTz: true });
      t.text('generated_name').notNullable();
      t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    });
  },
  async down(db: Knex) {
    await db.schema.dropTable('member_profiles');
  },
};

const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
/** "Cook 7QK2MZ": random, so it tells nothing about who the member is. */
export const generatedName = () => `Cook ${Array.from({ length: 6 }, () => ALPHABET[randomInt(ALPHABET.length)]).join('')}`;

export function profileOf(row: ProfileRow): Profile {
  if (row.display_name) return { displayName: row.display_name, source: 'member' };
  if (row.token_name) return { displayName: row.token_name, source: 'token' };
  return { displayName: row.generated_name, source: 'generated' };
}

export function createProfiles(db: Knex) {
  const table = () => db<ProfileRow>('member_profiles');

  /** Makes sure each member has a row (a generated name); existing rows are kept as they are. */
  async function ensure(memberIds: string[]) {
    if (!memberIds.length) return;
    await table()
      .insert(memberIds.map((member_id) => ({ member_id, generated_name: generatedName() })))
      .onConflict('member_id')
      .ignore();
  }

  /** Records a token's name as of `at`; an older sighting arriving later changes nothing. */
  async function noteTokenName(memberId: string, name: string | undefined, at: Date) {
    if (!name) return ensure([memberId]);
    await db.raw(
      `INSERT INTO member_profiles (member_id, token_name, token_name_at, generated_name) VALUES (?, ?, ?, ?)
       ON CONFLICT (member_id) DO UPDATE SET token_name = EXCLUDED.token_name, token_name_at = EXCLUDED.token_name_at, updated_at = now()
       WHERE member_profiles.token_name_at IS NULL OR member_profiles.token_name_at < EXCLUDED.token_name_at`,
      [memberId, name, at, generatedName()],
    );
  }

  async function profile(memberId: string): Promise<Profile> {
    const row = await table().where({ member_id: memberId }).first();
    return profileOf(row!);
  }

  return {
    noteTokenName,

    onRegistered: (e: Registered) => noteTokenName(e.memberId, e.authorName, new Date(e.registeredAt)),

    /** The member's profile, having noted the name their current token carries. */
    async mine(memberId: string, tokenName: string | undefined, now: Date) {
      await noteTokenName(memberId, tokenName, now);
      return profile(memberId);
    },

    async setDisplayName(memberId: string, displayName: string, tokenName: string | undefined, now: Date) {
      await noteTokenName(memberId, tokenName, now);
      await table().where({ member_id: memberId }).update({ display_name: displayName, updated_at: db.fn.now() });
      return profile(memberId);
    },

    /** Every member's shown name, by id (members never seen get their generated name now, kept for good). */
    async namesOf(memberIds: string[]): Promise<Record<string, string>> {
      const ids = [...new Set(memberIds)];
      await ensure(ids);
      const rows = await table().whereIn('member_id', ids);
      return Object.fromEntries(rows.map((row) => [row.member_id, profileOf(row).displayName]));
    },
  };
}

export type Profiles = ReturnType<typeof createProfiles>;

/** POST /display-names: at most a catalogue page of authors. */
const namesRequestSchema = z.strictObject({ memberIds: z.array(memberIdSchema).max(100) });

/** The profile routes, for the gateway only (Dapr access control): GET and PUT /members/me, and authors' names. */
export function profileRoutes(router: Router, profiles: Profiles, clock: () => Date = () => new Date()) {
  const tokenName = (ctx: Context) => decodeNameHeader(ctx.get(MEMBER_NAME_HEADER));

  router.get('/profiles/:memberId', async (ctx) => {
    ctx.body = await profiles.mine(memberIdOf(ctx), tokenName(ctx), clock());
  });

  router.put('/profiles/:memberId', async (ctx) => {
    const { displayName } = parseInput(profileUpdateSchema, ctx.request.body);
    ctx.body = await profiles.setDisplayName(memberIdOf(ctx), displayName, tokenName(ctx), clock());
  });

  router.post('/display-names', async (ctx) => {
    const { memberIds } = parseInput(namesRequestSchema, ctx.request.body);
    ctx.body = { names: await profiles.namesOf(memberIds) };
  });
}
