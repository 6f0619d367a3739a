/**
 * Vertex AI as the trainer sees it in gcp mode: pipeline jobs (submit a compiled KFP pipeline, read,
 * cancel, or run one to its end) and a model registry that takes a champion's files and serving
 * container. The adapters are `VertexPipelineJobs` and `VertexModelRegistry` of `@mlops/adapters-gcp`.
 */
import type { ServingContainer } from '../ops/model-registry.js';

/** What to run. */
export interface PipelineJobRequest {
  /** The job id, unique in the location: `[a-z][-a-z0-9]{0,127}`. Re-running an id adopts the existing job. */
  jobId: string;
  displayName: string;
  /** The compiled KFP v2 PipelineSpec (plain JSON). */
  pipelineSpec: Readonly<Record<string, unknown>>;
  /** Values of the pipeline's root input parameters (plain JSON). */
  parameterValues: Readonly<Record<string, unknown>>;
  /** `gs://` root under which Vertex writes the job's artifacts (the pipeline root). */
  gcsOutputDirectory: string;
  /** The service account the job's steps run as. */
  serviceAccount?: string;
  /** Labels: lowercase keys and values of at most 63 characters. */
  labels?: Readonly<Record<string, string>>;
}

/** How a job ended. */
export interface PipelineJobOutcome {
  /** `projects/<p>/locations/<r>/pipelineJobs/<id>`. */
  name: string;
  state: 'SUCCEEDED' | 'FAILED' | 'CANCELLED';
  /** The job's error message, when it failed. */
  error?: string;
  /** True when the job already existed (a redelivery) and was waited on rather than created. */
  adopted: boolean;
  /** Status checks made. */
  polls: number;
}

/** A job as `PipelineJobs.read` sees it now. */
export interface PipelineJobStatus {
  name: string;
  state: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';
  /** The state as Vertex names it (`PIPELINE_STATE_PENDING`...). */
  vertexState: string;
  error?: string;
  labels: Record<string, string>;
}

/** What `PipelineJobs.submit` did. */
export interface PipelineJobSubmission {
  name: string;
  /** True when the job id already existed (a redelivery): the existing job was adopted. */
  adopted: boolean;
}

/** A model version to put in the Model Registry. */
export interface ModelUploadRequest {
  /** The model's id in the location (`[a-z0-9-]`), e.g. `mlops-churn`; versions are added to it. */
  modelId: string;
  displayName: string;
  description?: string;
  /** `gs://` folder holding the model files. */
  artifactUri: string;
  /**
   * The serving container (required by Vertex for custom models): image, command, port and the
   * health and predict routes of its prediction server.
   */
  container: ServingContainer;
  /** Labels of the version; `versionLabel` among them identifies it across uploads. */
  labels: Readonly<Record<string, string>>;
  /** The label key whose value identifies this version (e.g. `mlops_version`). */
  versionLabel: string;
  /** The alias the version gets (taken from any other version that holds it), e.g. `champion`. */
  alias: string;
}

/** What the registry did. */
export interface ModelUploadOutcome {
  /** `projects/<p>/locations/<r>/models/<id>`. */
  model: string;
  versionId: string;
  /** `<model>@<versionId>`. */
  resourceName: string;
  /** `uploaded` a new version, or only `aliased` an existing one. */
  action: 'uploaded' | 'aliased';
}

/** Vertex AI Pipelines: submit, read, cancel, or run a job to its end. */
export interface PipelineJobs {
  /** `projects/<p>/locations/<r>/pipelineJobs/<jobId>`. */
  jobName(jobId: string): string;
  submit(request: PipelineJobRequest): Promise<PipelineJobSubmission>;
  read(name: string): Promise<PipelineJobStatus>;
  cancel(name: string): Promise<void>;
  run(request: PipelineJobRequest): Promise<PipelineJobOutcome>;
}

/** The Vertex AI Model Registry: upload (or find) a version and give it an alias. */
export interface ModelUploads {
  uploadVersion(request: ModelUploadRequest): Promise<ModelUploadOutcome>;
}
