import { baseConfigSchema, loadConfig, outboxConfigShape } from '@recipe/shared';
import { z } from 'zod';

const schema = baseConfigSchema.extend({
  ...outboxConfigShape,
  /** This app's Dapr app id (names its outbox topic). */
  APP_ID: z.string().min(1).default('recipe'),
  PORT: baseConfigSchema.shape.PORT.default(8082),
  STATE_STORE: z.string().min(1).default('recipe-store'),
  /** Points one recommendation earns (the original kept POINT in a ConfigMap). */
  POINT: z.coerce.number().int().min(1).max(1000).default(1),
});

export type Config = z.infer<typeof schema>;
export const readConfig = (env?: NodeJS.ProcessEnv): Config => loadConfig(schema, env);
