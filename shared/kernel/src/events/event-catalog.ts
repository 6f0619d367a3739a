import type {
  BronzeLanded,
  ModelTrained,
  PipelineStarted,
  PredictionsReady,
  SalesGenerated,
  StageFailed,
  StageSkipped,
  WarehouseReady,
} from '../contracts/contracts.generated.js';

const schemaBase = 'https://mlops-platform.dev/schemas/events/';

/**
 * The one catalogue of events: each versioned type has exactly one topic and one JSON Schema.
 * A topic and its schema share the entity name (STYLE.md).
 */
export const eventCatalog = {
  'mlops.pipeline.started.v1': { topic: 'pipeline-start', schemaId: `${schemaBase}mlops.pipeline.started.v1.json` },
  'mlops.sales.generated.v1': { topic: 'sales-generated', schemaId: `${schemaBase}mlops.sales.generated.v1.json` },
  'mlops.bronze.landed.v1': { topic: 'bronze-landed', schemaId: `${schemaBase}mlops.bronze.landed.v1.json` },
  'mlops.warehouse.ready.v1': { topic: 'warehouse-ready', schemaId: `${schemaBase}mlops.warehouse.ready.v1.json` },
  'mlops.model.trained.v1': { topic: 'model-trained', schemaId: `${schemaBase}mlops.model.trained.v1.json` },
  'mlops.predictions.ready.v1': {
    topic: 'predictions-ready',
    schemaId: `${schemaBase}mlops.predictions.ready.v1.json`,
  },
  'mlops.stage.failed.v1': { topic: 'stage-failed', schemaId: `${schemaBase}mlops.stage.failed.v1.json` },
  'mlops.stage.skipped.v1': { topic: 'stage-skipped', schemaId: `${schemaBase}mlops.stage.skipped.v1.json` },
} as const;

/** A versioned event type, `mlops.<entity>.<past-tense-verb>.v<N>`. */
export type EventType = keyof typeof eventCatalog;

/** The payload of each event type, generated from its schema. */
export interface EventDataMap {
  'mlops.pipeline.started.v1': PipelineStarted;
  'mlops.sales.generated.v1': SalesGenerated;
  'mlops.bronze.landed.v1': BronzeLanded;
  'mlops.warehouse.ready.v1': WarehouseReady;
  'mlops.model.trained.v1': ModelTrained;
  'mlops.predictions.ready.v1': PredictionsReady;
  'mlops.stage.failed.v1': StageFailed;
  'mlops.stage.skipped.v1': StageSkipped;
}

/** The topic that carries messages nobody could handle, with their reasons. */
export const DEAD_LETTER_TOPIC = 'dead-letter';

/** Every topic of the platform, the dead-letter topic included. */
export type Topic = (typeof eventCatalog)[EventType]['topic'] | typeof DEAD_LETTER_TOPIC;

/** All event types, in pipeline order. */
export const eventTypes = Object.keys(eventCatalog) as EventType[];

/** All topics, in pipeline order, the dead-letter topic last. */
export const topics: readonly Topic[] = [...eventTypes.map((type) => eventCatalog[type].topic), DEAD_LETTER_TOPIC];

/** Whether a string is a known event type. */
export function isEventType(type: string): type is EventType {
  return Object.hasOwn(eventCatalog, type);
}

/** Whether a string is a known topic. */
export function isTopic(topic: string): topic is Topic {
  return (topics as readonly string[]).includes(topic);
}

/** The topic of an event type. */
export function topicOf(type: EventType): Topic {
  return eventCatalog[type].topic;
}

/** The event types published on a topic (one per topic today; versions may share a topic later). */
export function typesOnTopic(topic: Topic): EventType[] {
  return eventTypes.filter((type) => eventCatalog[type].topic === topic);
}
