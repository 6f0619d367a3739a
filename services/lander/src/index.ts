/**
 * The lander: on `mlops.sales.generated.v1` it copies the run date's sales documents from the
 * document store to Parquet at `bronze/sales/dt=YYYY-MM-DD/` and publishes `mlops.bronze.landed.v1`.
 */
export * from './lander.service.js';
export { LanderErrors } from './errors.js';
export { landerFromPlatform } from './compose.js';
