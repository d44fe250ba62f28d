import test from 'ava';
import { ConfigError, baseConfigSchema, loadConfig } from '../src/index.js';

const token = (c: string) => c.repeat(64);
const tokens = { DAPR_API_TOKEN: token('d'), APP_API_TOKEN: token('a') };
/** The problems a refused configuration lists (fails if it is accepted). */
function problemsOf(env: NodeJS.ProcessEnv, options?: Parameters<typeof loadConfig>[2]): string[] {
  try {
    loadConfig(baseConfigSchema, env, options);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('the configuration was accepted');
}

test('config is read once and refuses to start with every problem listed', (t) => {
  const err = t.throws(() => loadConfig(baseConfigSchema, { ...tokens, PORT: '70000', LOG_LEVEL: 'loud', DAPR_HTTP_PORT: 'x' }), {
    instanceOf: ConfigError,
  });
  t.is(err.problems.length, 3);
  t.regex(err.message, /PORT/);
  t.regex(err.message, /LOG_LEVEL/);
  t.like(loadConfig(baseConfigSchema, { ...tokens, PORT: '8081' }), {
    PORT: 8081,
    DAPR_HTTP_PORT: 3500,
    LOG_LEVEL: 'info',
    HOST: '0.0.0.0',
    METRICS_PORT: 0,
    INSECURE_DEV_MODE: false,
    RETRY_AFTER_SECONDS: 5,
  });
});

test('when the Dapr API token is missing or empty, then the service refuses to start', (t) => {
  for (const value of [undefined, '', '   ']) {
    const problems = problemsOf({ PORT: '8081', APP_API_TOKEN: token('a'), ...(value === undefined ? {} : { DAPR_API_TOKEN: value }) });
    t.is(problems.length, 1, JSON.stringify(value));
    t.regex(problems[0]!, /^DAPR_API_TOKEN: required/);
  }
});

test('when the app token is missing or empty, then a service its sidecar calls refuses to start; the gateway needs none', (t) => {
  for (const value of [undefined, '']) {
    const problems = problemsOf({ PORT: '8081', DAPR_API_TOKEN: token('d'), ...(value === undefined ? {} : { APP_API_TOKEN: value }) });
    t.deepEqual(
      problems.map((p) => p.split(':')[0]),
      ['APP_API_TOKEN'],
    );
  }
  t.like(loadConfig(baseConfigSchema, { PORT: '8080', DAPR_API_TOKEN: token('d') }, { takesSidecarCalls: false }), {
    APP_API_TOKEN: undefined,
  });
  t.deepEqual(
    problemsOf({ PORT: '8080' }, { takesSidecarCalls: false }).map((p) => p.split(':')[0]),
    ['DAPR_API_TOKEN'],
  );
});

test('only an explicit development mode runs without tokens, and the switch itself is validated', (t) => {
  t.like(loadConfig(baseConfigSchema, { PORT: '8081', INSECURE_DEV_MODE: 'true' }), { INSECURE_DEV_MODE: true, DAPR_API_TOKEN: undefined });
  t.is(problemsOf({ PORT: '8081', INSECURE_DEV_MODE: 'false' }).length, 2, 'false is production');
  t.regex(problemsOf({ PORT: '8081', INSECURE_DEV_MODE: 'on' })[0]!, /^INSECURE_DEV_MODE:/);
});

test('metrics are served on a port of their own: validated, never the app port, 0 for none', (t) => {
  t.is(loadConfig(baseConfigSchema, { ...tokens, PORT: '8081', METRICS_PORT: '9464' }).METRICS_PORT, 9464);
  t.regex(problemsOf({ ...tokens, PORT: '8081', METRICS_PORT: '8081' })[0]!, /^METRICS_PORT: must differ from PORT/);
  t.regex(problemsOf({ ...tokens, PORT: '8081', METRICS_PORT: '70000' })[0]!, /^METRICS_PORT:/);
  t.regex(problemsOf({ ...tokens, PORT: '8081', METRICS_PORT: 'metrics' })[0]!, /^METRICS_PORT:/);
});

test('a token left as the placeholder of k8s/secrets.example.yaml, or too short to be secret, is refused', (t) => {
  t.regex(problemsOf({ ...tokens, PORT: '8081', DAPR_API_TOKEN: 'CHANGE-ME' })[0]!, /^DAPR_API_TOKEN: still the placeholder/);
  t.regex(
    problemsOf({ ...tokens, PORT: '8081', APP_API_TOKEN: 'change-me-please-with-more-than-32-chars' })[0]!,
    /^APP_API_TOKEN: still the placeholder/,
  );
  t.regex(problemsOf({ ...tokens, PORT: '8081', APP_API_TOKEN: 'short' })[0]!, /^APP_API_TOKEN: at least 32 characters/);
  t.like(loadConfig(baseConfigSchema, { PORT: '8081', INSECURE_DEV_MODE: 'true', DAPR_API_TOKEN: 'CHANGE-ME' }), {
    INSECURE_DEV_MODE: true,
  });
});
