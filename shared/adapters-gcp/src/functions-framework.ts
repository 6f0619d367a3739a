/** @mlops/adapters-gcp/functions-framework: The functions framework host of a service (Cloud Functions / Cloud Run). */
export {
  cloudEventFunction,
  registerCloudEventService,
  type CloudEventFunctionOptions,
} from './functions-framework.adapter.js';
