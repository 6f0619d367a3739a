/**
 * The sales generator: on `mlops.pipeline.started.v1` it writes the run date's sales orders to the
 * document store and publishes `mlops.sales.generated.v1`.
 */
export * from './sales-gen.service.js';
export { SalesGenErrors } from './errors.js';
export { salesGenFromPlatform } from './compose.js';
