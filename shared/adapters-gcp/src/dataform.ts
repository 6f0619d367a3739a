/** @mlops/adapters-gcp/dataform: the Dataform API transform runner of the gcp mode. */
export {
  DataformApiTransformRunner,
  type DataformApiClient,
  type DataformApiTransformRunnerOptions,
} from './dataform-api-runner.adapter.js';
export { createDataformClient } from './dataform-client.js';
