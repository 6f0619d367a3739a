/**
 * The startups generator: on `mlops.pipeline.started.v1` it writes the full load of tracked
 * startups on the first run and a delta of new and changed companies on Fridays, as JSON lines to
 * `bronze/startups/dt=YYYY-MM-DD/`, and publishes `mlops.bronze.landed.v1`. Other days it skips.
 */
export * from './startup-gen.service.js';
export { StartupGenErrors } from './errors.js';
export { startupGenFromPlatform } from './compose.js';
