import { runService } from '@recipe/shared';
import { readConfig } from './config.js';
import { buildRecipe } from './service.js';

const config = readConfig();
await runService('recipe', config, (deps) => buildRecipe(config, deps));
