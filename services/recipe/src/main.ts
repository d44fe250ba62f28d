import { runService } from '@recipe/shared';
import { readConfig } from './config.js';
import { buildRecipe } from './service.js';

await runService('recipe', readConfig, buildRecipe);
