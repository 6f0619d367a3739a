/**
 * The clickstream generator: on `mlops.pipeline.started.v1` it writes the run date's web events as
 * JSON lines to `bronze/clickstream/dt=YYYY-MM-DD/` and publishes `mlops.bronze.landed.v1`.
 */
export * from './click-gen.service.js';
export { ClickGenErrors } from './errors.js';
export { clickGenFromPlatform } from './compose.js';
