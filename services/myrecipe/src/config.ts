import { baseConfigSchema, loadConfig, outboxConfigShape } from '@recipe/shared';
import { z } from 'zod';

const schema = baseConfigSchema.extend({
  ...outboxConfigShape,
  /** This app's Dapr app id (names its outbox topic). */
  APP_ID: z.string().min(1).default('myrecipe'),
  PORT: baseConfigSchema.shape.PORT.default(8081),
  STATE_STORE: z.string().min(1).default('myrecipe-store'),
  RECIPE_APP_ID: z.string().min(1).default('recipe'),
  /** How long the deduction's circuit breaker stays open (its `timeout` in components/resiliency-deduction.yaml). */
  DEDUCTION_BREAKER_SECONDS: z.coerce.number().int().min(1).max(3600).default(10),
});

export type Config = z.infer<typeof schema>;
export const readConfig = (env?: NodeJS.ProcessEnv): Config => loadConfig(schema, env);
