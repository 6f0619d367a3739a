/** The transformer process: configuration from the environment, then pull worker or HTTP function. */
import { runServiceMain } from '@mlops/platform';
import { transformerFromPlatform } from './compose.js';

await runServiceMain('transformer', transformerFromPlatform, process.env);
