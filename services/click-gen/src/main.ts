/** The click-gen process: configuration from the environment, then pull worker or HTTP function. */
import { runServiceMain } from '@mlops/platform';
import { clickGenFromPlatform } from './compose.js';

await runServiceMain('click-gen', clickGenFromPlatform, process.env);
