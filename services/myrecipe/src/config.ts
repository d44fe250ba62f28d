import { baseConfigSchema, booleanFlag, loadConfig } from '@recipe/shared';
import { z } from 'zod';

const schema = baseConfigSchema.extend({
  /** This app's Dapr app id (names its outbox topic). */
  APP_ID: z.string().min(1).default('myrecipe'),
  PORT: baseConfigSchema.shape.PORT.default(8081),
  STATE_STORE: z.string().min(1).default('myrecipe-store'),
  RECIPE_APP_ID: z.string().min(1).default('recipe'),
  OUTBOX_DIRECT_PUBLISH: booleanFlag.default(true),
  RETRY_AFTER_SECONDS: z.coerce.number().int().min(1).max(3600).default(5),
});

export type Config = z.infer<typeof schema>;
export const readConfig = (env?: NodeJS.ProcessEnv): Config => loadConfig(schema, env);
