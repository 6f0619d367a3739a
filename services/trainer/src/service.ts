/** The trainer service: its dependencies and its factory. */
import {
  type CloudEvent,
  type DocumentStore,
  type ObjectStore,
  type Publisher,
  type Service,
  type ServingContainer,
  type WarehouseAccess,
  ModelRegistry,
  errorCode,
  errorMessage,
} from '@mlops/kernel';
import { sweepJobs, vertexCompletionConsumer } from './completion.js';
import { handleStageFailed, handleWarehouseReady, type VertexDeps } from './handler.js';
import { isAsyncPipelineRunner } from './pipeline/runner.port.js';
import { resolveTrainerSettings, type TrainerSettingsInput } from './settings.js';

/** What {@link createTrainerService} needs. */
export interface TrainerServiceDeps {
  /** The warehouse (`platform.warehouse`): read sessions for features, write sessions for predictions. */
  readonly warehouse: WarehouseAccess;
  /** The lake: models under `mlops/models/`, pipeline specs under `mlops/pipelines/`. */
  readonly objects: ObjectStore;
  /** The document store: the registry (unless given) and the per-date upstream status. */
  readonly documents: DocumentStore;
  /** The model registry (default: over `documents`). */
  readonly registry?: ModelRegistry;
  /** Models, label, sampling, thresholds, code version; checked now (a bad model name fails here). */
  readonly settings: TrainerSettingsInput;
  /** gcp mode: run the pipelines on Vertex AI and upload champions to its Model Registry. */
  readonly vertex?: VertexDeps;
  /** The container that serves a registered version, recorded with it (and uploaded with champions on gcp). */
  readonly serving?: ServingContainer;
  /**
   * Where the deadline sweep announces Vertex AI jobs that never completed (gcp: the bus). Without
   * it only completions settle jobs.
   */
  readonly publisher?: Publisher;
  /** How long a Vertex AI job may run before the sweep settles it (default 6 hours). */
  readonly jobDeadlineMs?: number;
}

/** The trainer service. One event at a time: training runs never overlap in a process. */
export function createTrainerService(deps: TrainerServiceDeps): Service {
  const handlerDeps = {
    warehouse: deps.warehouse,
    objects: deps.objects,
    documents: deps.documents,
    registry: deps.registry ?? new ModelRegistry(deps.documents),
    settings: resolveTrainerSettings(deps.settings),
    ...(deps.vertex ? { vertex: deps.vertex } : {}),
    ...(deps.serving ? { serving: deps.serving } : {}),
  };
  const runner = deps.vertex?.runner;
  const completion = runner && isAsyncPipelineRunner(runner) ? { ...handlerDeps, runner } : undefined;
  return {
    name: 'trainer',
    consumes: ['mlops.warehouse.ready.v1', 'mlops.stage.failed.v1'],
    concurrency: 1,
    handle: async (event, context) => {
      if (event.type === 'mlops.stage.failed.v1')
        await handleStageFailed(handlerDeps, event as CloudEvent<'mlops.stage.failed.v1'>, context);
      else await handleWarehouseReady(handlerDeps, event as CloudEvent<'mlops.warehouse.ready.v1'>, context);
      if (completion && deps.publisher) {
        // Jobs whose completion never came are settled on the next event.
        await sweepJobs(completion, deps.publisher, context.log, {
          ...(deps.jobDeadlineMs === undefined ? {} : { deadlineMs: deps.jobDeadlineMs }),
        }).catch((error: unknown) =>
          context.log.warning(`the Vertex AI job deadline sweep failed: ${errorMessage(error)}`, {
            code: errorCode(error),
          }),
        );
      }
    },
    // gcp: Vertex AI finishes the jobs later; their state entries arrive on their own topic.
    ...(completion ? { rawConsumers: [vertexCompletionConsumer(completion)] } : {}),
  };
}
