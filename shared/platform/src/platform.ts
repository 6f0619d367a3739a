import { join } from 'node:path';
import {
  createLogger,
  type DocumentStore,
  type EventBus,
  type Logger,
  type ModelUploads,
  type ObjectStore,
  type PipelineJobs,
  type Platform,
  type PlatformConfig,
  type PlatformVertexOptions,
  type WarehouseAccess,
} from '@mlops/kernel';
import {
  DuckDbParquetWriter,
  FsObjectStore,
  openDuckDbWarehouseAccess,
  SqliteDocumentStore,
  SqliteEventBus,
} from '@mlops/adapters-local';
import { createTransformRunner } from './transform-runner.factory.js';

/** Options of {@link createPlatform}. */
export interface PlatformOptions {
  log?: Logger;
  /** The process's service name (labels its BigQuery jobs). */
  service?: string;
}

/**
 * The composition root of the adapters: picks the bus, document store, lake and warehouse of the
 * configured mode. Google SDKs are loaded only in the modes that use them, so the embedded mode
 * starts fast and needs no Google libraries at run time; the local adapters are imported statically,
 * so a worker thread booted through CommonJS hooks (no ESM loader thread) can create a platform.
 */
export async function createPlatform(config: PlatformConfig, options: PlatformOptions = {}): Promise<Platform> {
  const log = options.log ?? createLogger({ level: config.logLevel, projectId: config.gcp.projectId });
  if (config.mode === 'gcp') {
    const { assertGoogleCredentials } = await import('@mlops/adapters-gcp/credentials');
    await assertGoogleCredentials();
  }
  const bus = await createBus(config, log);
  const documents = await createDocuments(config);
  const objects = await createObjects(config);
  const warehouse = lazyWarehouse(config, log, options.service ?? 'mlops');
  // The lander's Parquet writer is DuckDB in every mode.
  return {
    config,
    log,
    bus,
    documents,
    objects,
    warehouse,
    createParquetWriter: () => new DuckDbParquetWriter(),
    createTransformRunner: (runner = {}) => createTransformRunner({ config, warehouse, ...runner }),
    vertexAi: (vertex = {}) => vertexAiOf(config, vertex),
    async close() {
      await bus.close();
      await documents.close();
      await warehouse.close();
    },
  };
}

/**
 * The warehouse access, loaded on first use: BigQuery in gcp mode, the DuckDB file otherwise.
 * Processes that never touch the warehouse never load either.
 */
function lazyWarehouse(config: PlatformConfig, log: Logger, service: string): WarehouseAccess {
  let access: Promise<WarehouseAccess> | undefined;
  const get = () =>
    (access ??=
      config.mode === 'gcp'
        ? import('@mlops/adapters-gcp/bigquery').then(({ openBigQueryWarehouseAccess }) =>
            openBigQueryWarehouseAccess({
              projectId: config.warehouse.bigqueryProject,
              location: config.warehouse.bigqueryLocation,
              warehouseDataset: config.warehouse.warehouseDataset,
              service,
            }),
          )
        : (async () =>
            openDuckDbWarehouseAccess({
              path: config.warehouse.path,
              waitMs: config.warehouse.waitMs,
              ...(config.warehouse.memoryLimit ? { memoryLimit: config.warehouse.memoryLimit } : {}),
              log,
            }))());
  return {
    read: async (work, options) => (await get()).read(work, options),
    write: async (work, options) => (await get()).write(work, options),
    version: async () => (await get()).version(),
    release: async () => {
      if (access) await (await access).release?.();
    },
    close: async () => {
      if (access) await (await access).close();
    },
  };
}

async function createBus(config: PlatformConfig, log: Logger): Promise<EventBus> {
  if (config.mode === 'local') {
    return new SqliteEventBus({
      path: config.bus.path,
      maxAttempts: config.bus.maxAttempts,
      backoff: { minMs: config.bus.backoffMinMs, maxMs: config.bus.backoffMaxMs },
      maxMessageBytes: config.bus.maxMessageBytes,
      leaseMs: config.bus.leaseMs,
      log,
    });
  }
  const { PubSubEventBus } = await import('@mlops/adapters-gcp/pubsub');
  return new PubSubEventBus({
    projectId: config.gcp.projectId,
    ...(config.gcp.pubsubEmulatorHost ? { emulatorHost: config.gcp.pubsubEmulatorHost } : {}),
    maxAttempts: config.bus.maxAttempts,
    backoff: { minMs: config.bus.backoffMinMs, maxMs: config.bus.backoffMaxMs },
    maxMessageBytes: config.bus.maxMessageBytes,
    log,
  });
}

async function createDocuments(config: PlatformConfig): Promise<DocumentStore> {
  if (config.mode === 'local') {
    return new SqliteDocumentStore({ path: config.documents.path });
  }
  const { FirestoreDocumentStore } = await import('@mlops/adapters-gcp/firestore');
  return new FirestoreDocumentStore({
    projectId: config.gcp.projectId,
    ...(config.gcp.firestoreEmulatorHost ? { emulatorHost: config.gcp.firestoreEmulatorHost } : {}),
  });
}

async function createObjects(config: PlatformConfig): Promise<ObjectStore> {
  return openObjectStore(config.lake.root, {
    projectId: config.gcp.projectId,
    ...(config.gcp.storageEmulatorHost ? { emulatorHost: config.gcp.storageEmulatorHost } : {}),
  });
}

/**
 * An object store rooted at `root`: Cloud Storage for a `gs://` root (the Google client loads only
 * then), the file system otherwise. The prediction server opens its model folder with it.
 */
export async function openObjectStore(
  root: string,
  options: { projectId?: string; emulatorHost?: string } = {},
): Promise<ObjectStore> {
  if (root.startsWith('gs://')) {
    const { GcsObjectStore } = await import('@mlops/adapters-gcp/storage');
    return GcsObjectStore.fromUri(root, options);
  }
  return new FsObjectStore({ root });
}

/** Vertex AI pipeline jobs and model registry of the configured project and region ({@link Platform.vertexAi}). */
export async function vertexAiOf(
  config: PlatformConfig,
  options: PlatformVertexOptions = {},
): Promise<{ jobs: PipelineJobs; models: ModelUploads }> {
  const vertex = await import('@mlops/adapters-gcp/vertex-ai');
  const clients = (
    options.clients
      ? await options.clients()
      : await vertex.createVertexAiClients({
          projectId: config.gcp.projectId,
          region: config.gcp.region,
          ...(config.gcp.vertexApiEndpoint ? { apiEndpoint: config.gcp.vertexApiEndpoint } : {}),
        })
  ) as Awaited<ReturnType<typeof vertex.createVertexAiClients>>;
  const place = { projectId: config.gcp.projectId, region: config.gcp.region };
  return {
    jobs: new vertex.VertexPipelineJobs({ client: clients.pipelines, ...place }),
    models: new vertex.VertexModelRegistry({ client: clients.models, ...place }),
  };
}

/** Where the local run ledger and logs live. */
export function logFile(config: PlatformConfig, name: string): string {
  return join(config.home, 'logs', `${name}.jsonl`);
}
