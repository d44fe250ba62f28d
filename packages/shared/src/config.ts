import { z } from 'zod';

/** Thrown at start-up when the environment does not describe a runnable service. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

const port = z.coerce.number().int().min(1).max(65535);

/** Reads boolean switches: "true"/"1"/"yes" and "false"/"0"/"no". */
export const booleanFlag = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => v === 'true' || v === '1' || v === 'yes');

/** Settings every service shares: its own port, its sidecar, tokens, logging. */
export const baseConfigSchema = z.object({
  PORT: port,
  HOST: z.string().min(1).default('0.0.0.0'),
  /** GET /metrics on a listener of its own, never on PORT (Kubernetes opens 9464 only to Prometheus). 0: no metrics listener. */
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(0),
  DAPR_HOST: z.string().min(1).default('127.0.0.1'),
  DAPR_HTTP_PORT: port.default(3500),
  /** Sent to the sidecar with every call; required unless INSECURE_DEV_MODE. */
  DAPR_API_TOKEN: z.string().trim().optional(),
  /** Required from the sidecar on every call but health; required unless INSECURE_DEV_MODE. */
  APP_API_TOKEN: z.string().trim().optional(),
  /** Development only: start without the API tokens, and accept a weak JWT signing key (with a warning). */
  INSECURE_DEV_MODE: booleanFlag.default(false),
  PUBSUB_NAME: z.string().min(1).default('pubsub'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).max(120_000).default(10_000),
  /** Retry-After of a 503 caused by an unavailable dependency. */
  RETRY_AFTER_SECONDS: z.coerce.number().int().min(1).max(3600).default(5),
});

export type BaseConfig = z.infer<typeof baseConfigSchema>;

/** Settings of a service that runs the outbox (packages/shared/src/outbox.ts). */
export const outboxConfigShape = {
  /** An outbox intent still undecided after this is abandoned (fenced off). */
  OUTBOX_SETTLE_AFTER_SECONDS: z.coerce.number().int().min(5).max(3600).default(30),
};

export interface LoadOptions {
  /**
   * The app answers calls from its sidecar (subscriptions, service
   * invocation), so it needs APP_API_TOKEN to tell them from anyone else's.
   * The gateway answers only the public, on its own port.
   */
  takesSidecarCalls?: boolean;
}

/** Anything shorter is guessable; `openssl rand -hex 32` gives 64. */
const MIN_TOKEN_LENGTH = 32;

/** What the service refuses to run with: missing tokens fail closed, outside development. */
export function unsafeSettings(config: BaseConfig, { takesSidecarCalls = true }: LoadOptions = {}): string[] {
  const problems: string[] = [];
  if (config.METRICS_PORT === config.PORT) problems.push('METRICS_PORT: must differ from PORT (metrics are never served on the app port)');
  if (config.INSECURE_DEV_MODE) return problems;
  const missing = (name: string) =>
    `${name}: required (an empty value is missing); set INSECURE_DEV_MODE=true to run without it in development`;
  const check = (name: 'DAPR_API_TOKEN' | 'APP_API_TOKEN') => {
    const value = config[name];
    if (!value) problems.push(missing(name));
    else if (/CHANGE-ME/i.test(value))
      problems.push(`${name}: still the placeholder of k8s/secrets.example.yaml; generate one (openssl rand -hex 32)`);
    else if (value.length < MIN_TOKEN_LENGTH) problems.push(`${name}: at least ${MIN_TOKEN_LENGTH} characters (openssl rand -hex 32)`);
  };
  check('DAPR_API_TOKEN');
  if (takesSidecarCalls) check('APP_API_TOKEN');
  return problems;
}

/**
 * Parses the environment once at start-up and fails fast with every problem
 * listed. Nothing else in the code base reads process.env.
 */
export function loadConfig<S extends z.ZodType<BaseConfig>>(
  schema: S,
  env: NodeJS.ProcessEnv = process.env,
  options: LoadOptions = {},
): z.infer<S> {
  const result = schema.safeParse(env);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`));
  }
  const problems = unsafeSettings(result.data, options);
  if (problems.length) throw new ConfigError(problems);
  return result.data;
}
