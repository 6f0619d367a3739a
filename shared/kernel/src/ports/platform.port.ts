import type { PlatformConfig } from '../config/config.js';
import type { Logger } from '../log/logger.js';
import type { DocumentStore } from './document-store.port.js';
import type { EventBus } from './event-bus.port.js';
import type { ObjectStore } from './object-store.port.js';
import type { ParquetWriter } from './parquet-writer.port.js';
import type { TransformQuarantineCount, TransformRunner, TransformTableCount } from './transform-runner.port.js';
import type { ModelUploads, PipelineJobs } from './vertex-ai.port.js';
import type { WarehouseAccess } from './warehouse-access.port.js';

/** The ports of one process, built from configuration by `createPlatform` of `@mlops/platform`. */
export interface Platform {
  readonly config: PlatformConfig;
  readonly log: Logger;
  readonly bus: EventBus;
  readonly documents: DocumentStore;
  readonly objects: ObjectStore;
  /** The warehouse, in read and write sessions shared with every other process (DuckDB locally). */
  readonly warehouse: WarehouseAccess;
  /** A Parquet writer for bronze partitions (DuckDB in every mode). */
  createParquetWriter(): ParquetWriter;
  /**
   * The transform runner of the mode: DuckDB in write sessions on {@link Platform.warehouse} (local,
   * emulator), the Dataform API (gcp). SDKs load only in the mode that uses them.
   */
  createTransformRunner(options?: PlatformTransformOptions): Promise<TransformRunner>;
  /** Vertex AI pipeline jobs and model registry (gcp); the Google client loads on the first call. */
  vertexAi(options?: PlatformVertexOptions): Promise<{ jobs: PipelineJobs; models: ModelUploads }>;
  /** Close everything this platform opened. */
  close(): Promise<void>;
}

/** Options of {@link Platform.createTransformRunner}. */
export interface PlatformTransformOptions {
  /** The Dataform project folder (default: this checkout's `dataform/`). */
  projectDir?: string;
  /** gcp: row counts of the built tables (the Dataform API reports none), read through the warehouse port. */
  countRows?: (
    targets: { tables: string[]; quarantine: string[] },
    runDates: readonly string[],
  ) => Promise<{ tables: TransformTableCount[]; quarantine: TransformQuarantineCount[] }>;
}

/** Options of {@link Platform.vertexAi}. */
export interface PlatformVertexOptions {
  /**
   * The Vertex AI clients; default: the real ones on the region's endpoint (`VERTEX_API_ENDPOINT`:
   * another endpoint, a stand-in, over REST). Structurally `VertexPipelineClient` and
   * `VertexModelClient` of `@mlops/adapters-gcp`.
   */
  clients?: () => Promise<{ pipelines: unknown; models: unknown }>;
}
