import { runService } from '@recipe/shared';
import { readConfig } from './config.js';
import { buildMyrecipe } from './service.js';

const config = readConfig();
await runService('myrecipe', config, (deps) => buildMyrecipe(config, deps));
