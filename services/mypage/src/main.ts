import { runService } from '@recipe/shared';
import { readConfig } from './config.js';
import { buildMypage } from './service.js';

const config = readConfig();
await runService('mypage', config, (deps) => buildMypage(config, deps));
