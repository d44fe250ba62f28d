import { runService } from '@recipe/shared';
import { readConfig } from './config.js';
import { buildGateway } from './service.js';

await runService('gateway', readConfig, buildGateway);
