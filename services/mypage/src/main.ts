import { createLogger, createSidecar, serve } from '@recipe/shared';
import { createApp } from './app.js';
import { readConfig } from './config.js';
import { connect, createReadModel, migrate } from './store.js';

const config = readConfig();
const log = createLogger('mypage', config.LOG_LEVEL);
const sidecar = createSidecar({ host: config.DAPR_HOST, httpPort: config.DAPR_HTTP_PORT, apiToken: config.DAPR_API_TOKEN, log });

const db = connect(config.DATABASE_URL, config.DATABASE_SCHEMA, config.DATABASE_POOL_MAX);
await migrate(db, config.DATABASE_SCHEMA, log);

const app = createApp({ readModel: createReadModel(db), sidecar, log, appApiToken: config.APP_API_TOKEN, retryAfterSeconds: config.RETRY_AFTER_SECONDS });
await serve(app, { port: config.PORT, host: config.HOST, metricsPort: config.METRICS_PORT, log, shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS, onShutdown: () => db.destroy() });
