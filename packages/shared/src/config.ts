import { z } from 'zod';

/** Thrown at start-up when the environment does not describe a runnable service. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

const port = z.coerce.number().int().min(1).max(65535);

/** Settings every service shares: its own port, its sidecar, tokens, logging. */
export const baseConfigSchema = z.object({
  PORT: port,
  HOST: z.string().min(1).default('0.0.0.0'),
  /** Also serve GET /metrics on a port of its own (Kubernetes opens only that one to Prometheus). */
  METRICS_PORT: port.optional(),
  DAPR_HOST: z.string().min(1).default('127.0.0.1'),
  DAPR_HTTP_PORT: port.default(3500),
  DAPR_API_TOKEN: z.string().optional(),
  APP_API_TOKEN: z.string().optional(),
  PUBSUB_NAME: z.string().min(1).default('pubsub'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).max(120_000).default(10_000),
});

export type BaseConfig = z.infer<typeof baseConfigSchema>;

/**
 * Parses the environment once at start-up and fails fast with every problem
 * listed. Nothing else in the code base reads process.env.
 */
export function loadConfig<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const result = schema.safeParse(env);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`));
  }
  return result.data;
}

/** Reads DEBUG-free boolean switches: "true"/"1"/"yes" and "false"/"0"/"no". */
export const booleanFlag = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => v === 'true' || v === '1' || v === 'yes');
