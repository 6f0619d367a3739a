/** The transformer process: configuration from the environment, then pull worker or HTTP function. */
import { runServiceMain } from '@mlops/shared';
import { transformerFromPlatform } from './compose.js';

await runServiceMain('transformer', transformerFromPlatform, process.env);
