/**
 * The trainer composed on a platform, by mode. `main.ts` and the CLI's in-process stack both call
 * {@link trainerFromPlatform}.
 *
 * - local / emulator: the pipeline runs in-process on the platform's warehouse (DuckDB);
 * - gcp: the pipeline runs on Vertex AI Pipelines (`VERTEX_PIPELINE_ROOT`, `MLOPS_SERVICE_ACCOUNT`,
 *   the platform image), champions go to the Vertex AI Model Registry with the image's prediction
 *   server as their serving container; the Google clients are loaded only then
 *   (`VERTEX_API_ENDPOINT`: another endpoint, a stand-in, over REST). The trainer submits each job
 *   and acknowledges; the job's state entry on `vertex-completions` completes it (`completion.ts`).
 *
 * Every registered version records that serving container (`serving/serving.container.ts`).
 *
 * Either way the compiled KFP specs are written to the lake under `mlops/pipelines/` at start.
 */
import {
  ConfigError,
  ModelRegistry,
  type ModelUploadRequest,
  type ModelVersion,
  type ObjectStore,
  type Platform,
  type Service,
} from '@mlops/kernel';
import { trainerCodeVersion } from './code-version.js';
import type { VertexDeps } from './handler.js';
import { createTrainerService } from './service.js';
import { CHURN_PREDICT_PIPELINE, CHURN_TRAINING_PIPELINE } from './pipeline/churn.pipeline.js';
import { compilePipeline, storePipelineSpec } from './pipeline/kfp.compiler.js';
import { VertexPipelineRunner } from './pipeline/vertex.runner.js';
import { servingContainer } from './serving/serving.container.js';
import type { TrainerSettingsInput } from './settings.js';

/** Options of {@link trainerFromPlatform}. */
export interface TrainerCompositionOptions {
  /** Container image the Vertex AI pipeline steps run (gcp; required there). */
  image?: string;
  /** Settings beyond the configuration (models, sampling, thresholds). */
  settings?: Partial<TrainerSettingsInput>;
  /**
   * The Vertex AI clients (gcp); default: the real ones on the region's endpoint. Structurally the
   * `VertexPipelineClient` and `VertexModelClient` of `@mlops/adapters-gcp`.
   */
  vertexClients?: () => Promise<{ pipelines: unknown; models: unknown }>;
}

/** The container environment of the pipeline steps: where the lake and warehouse are. No secrets. */
function stepEnvironment(platform: Platform): Record<string, string> {
  const { config } = platform;
  return {
    MLOPS_MODE: config.mode,
    GOOGLE_CLOUD_PROJECT: config.gcp.projectId,
    MLOPS_REGION: config.gcp.region,
    MLOPS_LAKE: config.lake.root,
    MLOPS_WAREHOUSE_DATASET: config.warehouse.warehouseDataset,
    MLOPS_STAGING_DATASET: config.warehouse.stagingDataset,
    MLOPS_BIGQUERY_LOCATION: config.warehouse.bigqueryLocation,
    MLOPS_BIGQUERY_PROJECT: config.warehouse.bigqueryProject,
    MLOPS_LOG_LEVEL: config.logLevel,
  };
}

/**
 * A champion's entry in the Vertex AI Model Registry: its version folder in the lake (model,
 * holdout model, baseline, metrics; Vertex AI copies it to the server's `AIP_STORAGE_URI`) and
 * the platform image's prediction server as the serving container.
 */
export function championUpload(version: ModelVersion, image: string, objects: ObjectStore): ModelUploadRequest {
  const folder = version.artifactUri.slice(0, version.artifactUri.lastIndexOf('/') + 1);
  return {
    modelId: `mlops-${version.modelName}`.replaceAll('_', '-'),
    displayName: `mlops ${version.modelName}`,
    description: `${version.algorithm} ${version.version}: ROC AUC ${version.metrics.rocAuc.toFixed(4)} on ${version.holdoutRange.from}..${version.holdoutRange.to}`,
    artifactUri: objects.uri(folder),
    container: servingContainer(image),
    labels: { mlops_version: version.version, mlops_model: version.modelName.replaceAll('_', '-') },
    versionLabel: 'mlops_version',
    alias: 'champion',
  };
}

async function vertexDeps(
  platform: Platform,
  image: string,
  clientsOf?: TrainerCompositionOptions['vertexClients'],
): Promise<VertexDeps> {
  const { config } = platform;
  const pipelineRoot = config.gcp.vertexPipelineRoot;
  if (!pipelineRoot?.startsWith('gs://'))
    throw new ConfigError('VERTEX_PIPELINE_ROOT', 'is required in gcp mode (a gs:// folder for the pipeline runs)');
  const { jobs, models } = await platform.vertexAi(clientsOf ? { clients: clientsOf } : {});
  const runner = new VertexPipelineRunner({
    jobs,
    objects: platform.objects,
    pipelineRoot,
    ...(config.gcp.serviceAccount ? { serviceAccount: config.gcp.serviceAccount } : {}),
    compile: { image, env: stepEnvironment(platform) },
    log: platform.log,
  });
  return {
    runner,
    uploadChampion: async (version) => {
      const outcome = await models.uploadVersion(championUpload(version, image, platform.objects));
      platform.log.info(
        `champion ${version.version} ${outcome.action} in Vertex AI Model Registry as ${outcome.resourceName}`,
        { version: version.version },
      );
      return outcome.resourceName;
    },
  };
}

/** The trainer on a platform (see the module comment). */
export async function trainerFromPlatform(
  platform: Platform,
  options: TrainerCompositionOptions = {},
): Promise<Service> {
  const { config } = platform;
  const image = options.image ?? (config.mode === 'gcp' ? undefined : 'mlops-platform:local');
  if (image === undefined)
    throw new ConfigError(
      'MLOPS_IMAGE',
      'is required in gcp mode (the container image the Vertex AI pipeline steps run)',
    );
  const service = createTrainerService({
    warehouse: platform.warehouse,
    objects: platform.objects,
    documents: platform.documents,
    registry: new ModelRegistry(platform.documents),
    settings: {
      codeVersion: await trainerCodeVersion(),
      horizonDays: config.trainer.churnHorizonDays,
      retrainEveryDays: config.trainer.retrainEveryDays,
      warehouseSchema: config.warehouse.warehouseDataset,
      ...(options.settings ?? {}),
    },
    ...(config.mode === 'gcp' ? { vertex: await vertexDeps(platform, image, options.vertexClients) } : {}),
    serving: servingContainer(image),
    publisher: platform.bus,
  });
  const env = stepEnvironment(platform);
  for (const pipeline of [CHURN_TRAINING_PIPELINE, CHURN_PREDICT_PIPELINE]) {
    await storePipelineSpec(
      platform.objects,
      compilePipeline(pipeline, {
        image,
        env,
        ...(config.gcp.vertexPipelineRoot ? { pipelineRoot: config.gcp.vertexPipelineRoot } : {}),
      }),
    );
  }
  return service;
}
