import { runService } from '@recipe/shared';
import { readConfig } from './config.js';
import { buildMypage } from './service.js';

await runService('mypage', readConfig, buildMypage);
