import { runService } from '@recipe/shared';
import { readConfig } from './config.js';
import { buildGateway } from './service.js';

const config = readConfig();
await runService('gateway', config, (deps) => buildGateway(config, deps));
