/** The startup-gen process: configuration from the environment, then pull worker or HTTP function. */
import { runServiceMain } from '@mlops/platform';
import { startupGenFromPlatform } from './compose.js';

await runServiceMain('startup-gen', startupGenFromPlatform, process.env);
