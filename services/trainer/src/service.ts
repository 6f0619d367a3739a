/** The trainer service: its dependencies and its factory. */
import type { CloudEvent, DocumentStore, ObjectStore, Service, WarehouseAccess } from '@mlops/shared';
import { ModelRegistry } from '@mlops/shared';
import { handleStageFailed, handleWarehouseReady, type VertexDeps } from './handler.js';
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
  };
  return {
    name: 'trainer',
    consumes: ['mlops.warehouse.ready.v1', 'mlops.stage.failed.v1'],
    concurrency: 1,
    handle: (event, context) =>
      event.type === 'mlops.stage.failed.v1'
        ? handleStageFailed(handlerDeps, event as CloudEvent<'mlops.stage.failed.v1'>, context)
        : handleWarehouseReady(handlerDeps, event as CloudEvent<'mlops.warehouse.ready.v1'>, context),
  };
}
