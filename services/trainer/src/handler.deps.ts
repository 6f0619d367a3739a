/** What the trainer's handlers need (the handler, its outcome and the Vertex completions share it). */
import type {
  DocumentStore,
  ModelRegistry,
  ModelVersion,
  ObjectStore,
  ServingContainer,
  WarehouseAccess,
} from '@mlops/kernel';
import type { PipelineRunner } from './pipeline/runner.port.js';
import type { TrainerSettings } from './settings.js';

/** The gcp-mode pieces: a pipeline runner on Vertex AI and the champion's upload to its Model Registry. */
export interface VertexDeps {
  /** Runs the pipelines as Vertex AI PipelineJobs. */
  readonly runner: PipelineRunner;
  /** Upload a registered version to the Vertex AI Model Registry with the `champion` alias; resolves to its resource name. */
  uploadChampion(version: ModelVersion): Promise<string>;
}

/** What the handlers need. */
export interface TrainerHandlerDeps {
  /** The warehouse: features are read in read sessions, predictions written in write sessions. */
  readonly warehouse: WarehouseAccess;
  readonly objects: ObjectStore;
  readonly registry: ModelRegistry;
  /** Where the per-date upstream status is kept (`trainer_data_health`). */
  readonly documents: DocumentStore;
  readonly settings: TrainerSettings;
  /** gcp mode: run on Vertex AI instead of in-process. */
  readonly vertex?: VertexDeps;
  /** The container that serves a registered version: recorded with the version. */
  readonly serving?: ServingContainer;
}
