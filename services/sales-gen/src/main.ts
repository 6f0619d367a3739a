/** The sales-gen process: configuration from the environment, then pull worker or HTTP function. */
import { runServiceMain } from '@mlops/shared';
import { salesGenFromPlatform } from './compose.js';

await runServiceMain('sales-gen', salesGenFromPlatform, process.env);
