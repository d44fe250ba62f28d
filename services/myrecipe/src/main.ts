import { runService } from '@recipe/shared';
import { readConfig } from './config.js';
import { buildMyrecipe } from './service.js';

await runService('myrecipe', readConfig, buildMyrecipe);
