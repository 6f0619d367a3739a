/**
 * The transformer: on `mlops.bronze.landed.v1` it keeps a ledger of landed partitions per run date
 * and, when dates are complete, runs the Dataform project (bronze ▶ silver ▶ gold) for all of them
 * at once, then publishes `mlops.warehouse.ready.v1` (or `mlops.stage.failed.v1` when an assertion
 * fails).
 */
export * from './transformer.service.js';
export { TransformerErrors } from './errors.js';
export { LEDGER_COLLECTION } from './ledger.js';
export { buildableDates } from './handler.js';
export { requiredSources } from './completeness.js';
export { transformerFromPlatform } from './compose.js';
export {
  DATAFORM_COMPLETIONS_TOPIC,
  DEFAULT_INVOCATION_DEADLINE_MS,
  INVOCATIONS_COLLECTION,
  dataformCompletionConsumer,
  parseDataformCompletion,
  sweepInvocations,
} from './completion.js';
