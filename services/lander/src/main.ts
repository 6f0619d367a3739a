/** The lander process: configuration from the environment, then pull worker or HTTP function. */
import { runServiceMain } from '@mlops/platform';
import { landerFromPlatform } from './compose.js';

await runServiceMain('lander', landerFromPlatform, process.env);
