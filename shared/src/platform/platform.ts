import { join } from 'node:path';
import type { PlatformConfig } from '../config/config.js';
import { createLogger, type Logger } from '../log/logger.js';
import type { DocumentStore } from '../ports/document-store.port.js';
import type { EventBus } from '../ports/event-bus.port.js';
import type { ObjectStore } from '../ports/object-store.port.js';
import type { WarehouseAccess } from '../ports/warehouse-access.port.js';

/** The ports of one process, built from configuration by {@link createPlatform}. */
export interface Platform {
  readonly config: PlatformConfig;
  readonly log: Logger;
  readonly bus: EventBus;
  readonly documents: DocumentStore;
  readonly objects: ObjectStore;
  /** The warehouse, in read and write sessions shared with every other process (DuckDB locally). */
  readonly warehouse: WarehouseAccess;
  /** Close everything this platform opened. */
  close(): Promise<void>;
}

/** Options of {@link createPlatform}. */
export interface PlatformOptions {
  log?: Logger;
  /** The process's service name (labels its BigQuery jobs). */
  service?: string;
}

/**
 * The composition root of the adapters: picks the bus, document store, lake and warehouse of the
 * configured mode. SDKs are loaded only in the modes that use them, so the embedded mode starts
 * fast and needs no Google libraries at run time.
 */
export async function createPlatform(config: PlatformConfig, options: PlatformOptions = {}): Promise<Platform> {
  const log = options.log ?? createLogger({ level: config.logLevel, projectId: config.gcp.projectId });
  if (config.mode === 'gcp') {
    const { assertGoogleCredentials } = await import('../adapters/google-credentials.adapter.js');
    await assertGoogleCredentials();
  }
  const bus = await createBus(config, log);
  const documents = await createDocuments(config);
  const objects = await createObjects(config);
  const warehouse = lazyWarehouse(config, log, options.service ?? 'mlops');
  return {
    config,
    log,
    bus,
    documents,
    objects,
    warehouse,
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
        ? import('../adapters/bigquery/bigquery-warehouse-access.adapter.js').then(({ openBigQueryWarehouseAccess }) =>
            openBigQueryWarehouseAccess({
              projectId: config.warehouse.bigqueryProject,
              location: config.warehouse.bigqueryLocation,
              warehouseDataset: config.warehouse.warehouseDataset,
              service,
            }),
          )
        : import('../adapters/duckdb-warehouse-access.adapter.js').then(({ openDuckDbWarehouseAccess }) =>
            openDuckDbWarehouseAccess({
              path: config.warehouse.path,
              waitMs: config.warehouse.waitMs,
              ...(config.warehouse.memoryLimit ? { memoryLimit: config.warehouse.memoryLimit } : {}),
              log,
            }),
          ));
  return {
    read: async (work, options) => (await get()).read(work, options),
    write: async (work, options) => (await get()).write(work, options),
    version: async () => (await get()).version(),
    close: async () => {
      if (access) await (await access).close();
    },
  };
}

async function createBus(config: PlatformConfig, log: Logger): Promise<EventBus> {
  if (config.mode === 'local') {
    const { SqliteEventBus } = await import('../adapters/sqlite-event-bus.adapter.js');
    return new SqliteEventBus({
      path: config.bus.path,
      maxAttempts: config.bus.maxAttempts,
      backoff: { minMs: config.bus.backoffMinMs, maxMs: config.bus.backoffMaxMs },
      maxMessageBytes: config.bus.maxMessageBytes,
      leaseMs: config.bus.leaseMs,
      log,
    });
  }
  const { PubSubEventBus } = await import('../adapters/pubsub-event-bus.adapter.js');
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
    const { SqliteDocumentStore } = await import('../adapters/sqlite-document-store.adapter.js');
    return new SqliteDocumentStore({ path: config.documents.path });
  }
  const { FirestoreDocumentStore } = await import('../adapters/firestore-document-store.adapter.js');
  return new FirestoreDocumentStore({
    projectId: config.gcp.projectId,
    ...(config.gcp.firestoreEmulatorHost ? { emulatorHost: config.gcp.firestoreEmulatorHost } : {}),
  });
}

async function createObjects(config: PlatformConfig): Promise<ObjectStore> {
  if (config.lake.root.startsWith('gs://')) {
    const { GcsObjectStore } = await import('../adapters/gcs-object-store.adapter.js');
    return GcsObjectStore.fromUri(config.lake.root, {
      projectId: config.gcp.projectId,
      ...(config.gcp.storageEmulatorHost ? { emulatorHost: config.gcp.storageEmulatorHost } : {}),
    });
  }
  const { FsObjectStore } = await import('../adapters/fs-object-store.adapter.js');
  return new FsObjectStore({ root: config.lake.root });
}

/** Where the local run ledger and logs live. */
export function logFile(config: PlatformConfig, name: string): string {
  return join(config.home, 'logs', `${name}.jsonl`);
}
