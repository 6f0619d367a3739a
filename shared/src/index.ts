/**
 * @mlops/shared: the platform library every service imports. Events and their contracts, the
 * ports (interfaces) services depend on, the adapters that implement them, configuration, logging
 * and the runtime that hosts a service on any transport. Services import only this entry (and
 * `@mlops/shared/testing` in tests).
 */
import './runtime/source-guard.js';
export * from './errors.js';
export * from './contracts/contracts.generated.js';
export * from './events/event-catalog.js';
export * from './events/cloud-event.js';
export * from './events/event-validator.js';
export * from './events/message-codec.js';
export * from './config/config.js';
export * from './log/logger.js';
export type * from './ports/event-bus.port.js';
export type * from './ports/document-store.port.js';
export type * from './ports/object-store.port.js';
export type * from './ports/warehouse.port.js';
export type * from './ports/warehouse-access.port.js';
export * from './runtime/backoff.js';
export * from './runtime/service.js';
export * from './runtime/service-host.js';
export * from './runtime/eventarc.js';
export * from './runtime/settlement.js';
export * from './runtime/delivery.js';
export * from './runtime/dead-letters.js';
export * from './runtime/host-allow-list.js';
export * from './runtime/cloudevents-http.js';
export * from './runtime/http-transport.js';
export * from './events/message-excerpt.js';
export { SqliteEventBus, type SqliteEventBusOptions } from './adapters/sqlite-event-bus.adapter.js';
export { SqliteDocumentStore } from './adapters/sqlite-document-store.adapter.js';
export { FsObjectStore } from './adapters/fs-object-store.adapter.js';
export {
  DuckDbWarehouse,
  openDuckDbWarehouse,
  releaseDuckDbFile,
  type DuckDbWarehouseOptions,
} from './adapters/duckdb-warehouse.adapter.js';
export {
  openDuckDbWarehouseAccess,
  type DuckDbWarehouseAccessOptions,
} from './adapters/duckdb-warehouse-access.adapter.js';
export * from './ops/run-ledger.js';
export * from './ops/warehouse-checksums.js';
export * from './platform/platform.js';
export * from './ops/model-registry.js';
export type * from './ports/parquet-writer.port.js';
export * from './synthetic/index.js';
export { DuckDbParquetWriter, type DuckDbParquetWriterOptions } from './adapters/duckdb-parquet-writer.adapter.js';
export * from './ports/transform-runner.port.js';
export {
  DataformCompiler,
  RUN_DATES_SENTINEL,
  RUN_DATE_FIRST_SENTINEL,
  RUN_DATE_LAST_SENTINEL,
  projectContentHash,
  runDateVars,
  substituteRunDates,
  type Compilation,
  type DataformCompilerOptions,
} from './adapters/dataform/dataform-compiler.adapter.js';
export type { CompiledGraph, DataformTarget } from './adapters/dataform/compiled-graph.js';
export {
  CATALOG_PLACEHOLDER,
  TranslationError,
  loadBigQueryTranslator,
  translateBigQueryToDuckDb,
  type ParameterReference,
  type TranslateOptions,
} from './adapters/dataform/bigquery-to-duckdb.adapter.js';
export {
  DuckDbTransformRunner,
  type DuckDbTransformRunnerOptions,
} from './adapters/dataform/duckdb-transform-runner.adapter.js';
export {
  DataformApiTransformRunner,
  type DataformApiClient,
  type DataformApiTransformRunnerOptions,
} from './adapters/dataform/dataform-api-runner.adapter.js';
export * from './runtime/service-main.js';
export {
  createTransformRunner,
  DEFAULT_DATAFORM_PROJECT,
  type TransformRunnerFactoryOptions,
} from './adapters/dataform/transform-runner.factory.js';
