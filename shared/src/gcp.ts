/**
 * @mlops/shared/gcp: the Google Cloud adapters (Pub/Sub, Firestore, Cloud Storage, BigQuery, the functions
 * framework host). Kept out of the main entry so that the embedded mode never loads Google's
 * client libraries (about 1.8 s of start-up); `createPlatform` imports them only in the modes
 * that use them.
 */
export {
  PubSubEventBus,
  REDRIVE_SUBSCRIPTION_ATTRIBUTE,
  type PubSubEventBusOptions,
  type RetryBackoffMode,
} from './adapters/pubsub-event-bus.adapter.js';
export {
  FirestoreDocumentStore,
  type FirestoreDocumentStoreOptions,
} from './adapters/firestore-document-store.adapter.js';
export { GcsObjectStore, type GcsObjectStoreOptions } from './adapters/gcs-object-store.adapter.js';
export {
  openBigQueryWarehouseAccess,
  type BigQueryWarehouseAccess,
  type BigQueryWarehouseAccessOptions,
} from './adapters/bigquery/bigquery-warehouse-access.adapter.js';
export {
  cloudEventFunction,
  registerCloudEventService,
  type CloudEventFunctionOptions,
} from './adapters/functions-framework.adapter.js';
export {
  VertexModelRegistry,
  VertexPipelineJobs,
  createVertexAiClients,
  fromProtoStruct,
  fromProtoValue,
  pipelineStateName,
  toProtoStruct,
  toProtoValue,
  vertexCallError,
  type ModelUploadOutcome,
  type ModelUploadRequest,
  type PipelineJobOutcome,
  type PipelineJobRequest,
  type PipelineJobStatus,
  type PipelineJobSubmission,
  type VertexModelClient,
  type VertexModelRegistryOptions,
  type VertexOperation,
  type VertexPipelineClient,
  type VertexPipelineJobsOptions,
} from './adapters/vertex-ai.adapter.js';
export {
  cloudSdkRoot,
  emulatorSupport,
  freePort,
  skipWithoutEmulator,
  startEmulator,
  uniqueProjectId,
  type EmulatorKind,
  type EmulatorSupport,
  type RunningEmulator,
} from './tooling/gcloud-emulators.js';
export {
  detectDocker,
  dockerSupport,
  startContainer,
  type ContainerSpec,
  type DockerSupport,
  type StartedContainer,
} from './tooling/docker-engine.js';
