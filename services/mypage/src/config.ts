import { baseConfigSchema, loadConfig } from '@recipe/shared';
import { z } from 'zod';

const schema = baseConfigSchema.extend({
  PORT: baseConfigSchema.shape.PORT.default(8083),
  DATABASE_URL: z.string().url().default('postgres://postgres@127.0.0.1:5432/recommend_recipe'),
  DATABASE_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/)
    .default('mypage'),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(100).default(10),
  /** How often the totals no catalogue cursor can need any more are dropped from points_log. */
  POINTS_LOG_PRUNE_INTERVAL_SECONDS: z.coerce.number().int().min(10).max(86_400).default(600),
});

export type Config = z.infer<typeof schema>;
export const readConfig = (env?: NodeJS.ProcessEnv): Config => loadConfig(schema, env);
