/**
 * @mlops/gcp-standins: local stand-ins for Google Cloud services, for tests and the gcp rehearsal.
 * Test tooling only: the product never imports this package.
 */
export {
  startGcsStandin,
  type GcsStandin,
  type GcsStandinOptions,
  type SeenRequest,
} from './gcs/gcs.standin.js';
export { GcsStorage, type StoredObject, type StoredBucket } from './gcs/object-storage.js';
export { type StandinLog, type StandinLogEntry, type RunningServer } from './http/server.js';
export {
  startMetadataServer,
  type IssuedToken,
  type MetadataServer,
  type MetadataServerOptions,
} from './metadata/metadata.standin.js';
export {
  startBigQueryStandin,
  type BigQueryStandin,
  type BigQueryStandinOptions,
} from './bigquery/bigquery.standin.js';
export { startGcpStandins, type GcpStandins, type GcpStandinsOptions } from './gcp-standins.js';
export {
  startDataformStandin,
  type DataformStandin,
  type DataformStandinOptions,
} from './dataform/dataform.standin.js';
export {
  startVertexStandin,
  type VertexStandin,
  type VertexStandinOptions,
} from './vertex/vertex.standin.js';
export type { ContainerExecutor } from './vertex/pipeline-spec.js';
