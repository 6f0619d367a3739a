/** The sales-gen process: configuration from the environment, then pull worker or HTTP function. */
import { runServiceMain } from '@mlops/platform';
import { salesGenFromPlatform } from './compose.js';

await runServiceMain('sales-gen', salesGenFromPlatform, process.env);
