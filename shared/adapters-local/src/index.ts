/**
 * @mlops/adapters-local: the ports on local engines. SQLite holds the embedded bus and document
 * store, the file system the lake, DuckDB the warehouse and the Parquet writer, and Dataform's
 * compiler with a BigQuery-to-DuckDB translation runs the transforms. Only `@mlops/platform`
 * constructs them (tests may too).
 */
export { SqliteEventBus, type SqliteEventBusOptions } from './sqlite-event-bus.adapter.js';
export { SqliteDocumentStore } from './sqlite-document-store.adapter.js';
export { FsObjectStore } from './fs-object-store.adapter.js';
export {
  DuckDbWarehouse,
  openDuckDbWarehouse,
  releaseDuckDbFile,
  type DuckDbWarehouseOptions,
} from './duckdb-warehouse.adapter.js';
export {
  openDuckDbWarehouseAccess,
  type DuckDbWarehouseAccessOptions,
} from './duckdb-warehouse-access.adapter.js';
export { DuckDbParquetWriter, type DuckDbParquetWriterOptions } from './duckdb-parquet-writer.adapter.js';
export {
  DataformCompiler,
  projectContentHash,
  substituteRunDates,
  type Compilation,
  type DataformCompilerOptions,
} from './dataform/dataform-compiler.adapter.js';
export type { CompiledGraph, DataformTarget } from './dataform/compiled-graph.js';
export {
  CATALOG_PLACEHOLDER,
  TranslationError,
  loadBigQueryTranslator,
  translateBigQueryToDuckDb,
  type ParameterReference,
  type TranslateOptions,
} from './dataform/bigquery-to-duckdb.adapter.js';
export {
  DuckDbTransformRunner,
  type DuckDbTransformRunnerOptions,
} from './dataform/duckdb-transform-runner.adapter.js';
export {
  EXTRA_THREAD_MEMORY_SHARE,
  LARGE_RUN_FROM_ROWS_PER_DATE,
  runMemoryLimit,
  runThreads,
  type FreeCoresSampler,
} from './dataform/transform-threads.js';
