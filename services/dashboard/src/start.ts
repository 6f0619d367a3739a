/**
 * Start the dashboard on a platform: host the run-ledger observer on the bus (so the ledger fills
 * while the dashboard runs as its own process), open the warehouse read-only, serve and listen.
 * `main.ts` and the CLI (`mlops serve`, `npm start`) both use it.
 */
import type { HostedService, Platform } from '@mlops/shared';
import {
  createRunLedgerService,
  hostService,
  ModelRegistry,
  openDuckDbWarehouse,
  releaseDuckDbFile,
  RunLedger,
} from '@mlops/shared';
import { createLazyWarehouse } from './lazy-warehouse.js';
import { createDashboardServer, type DashboardAddress } from './server.js';
import { warehouseFileVersion } from './warehouse-version.js';

/** Options of {@link startDashboard}; unset ones come from `platform.config.dashboard`. */
export interface StartDashboardOptions {
  host?: string;
  port?: number;
  allowRemote?: boolean;
  /** Subscribe the run-ledger observer to the bus (default true). */
  hostLedger?: boolean;
  /**
   * Let go of the DuckDB file after this long without queries, so other processes (the
   * transformer, the trainer) can write it. Only for a dashboard that owns the file in its
   * process (`main.ts`); in one process with the pipeline, leave it unset: releasing the file
   * would close it under the other services.
   */
  releaseWarehouseWhenIdleMs?: number;
  /** Warm the answer cache at start and whenever the warehouse changes, checked this often (default 10 s; 0: never). */
  warmEveryMs?: number;
}

/** A listening dashboard. */
export interface RunningDashboard extends DashboardAddress {
  /** Stop the server, the ledger observer and the warehouse connection (not the platform). */
  close(): Promise<void>;
}

/** Start the dashboard on a platform and listen. */
export async function startDashboard(
  platform: Platform,
  options: StartDashboardOptions = {},
): Promise<RunningDashboard> {
  const { config, log } = platform;
  const ledger = new RunLedger(platform.documents);
  const observer: HostedService | undefined =
    options.hostLedger === false
      ? undefined
      : await hostService(createRunLedgerService(ledger), {
          bus: platform.bus,
          log,
          settings: {
            maxAttempts: config.bus.maxAttempts,
            backoff: { minMs: config.bus.backoffMinMs, maxMs: config.bus.backoffMaxMs },
          },
        });
  const path = config.warehouse.path;
  const releasing = options.releaseWarehouseWhenIdleMs !== undefined;
  const warehouse = createLazyWarehouse(
    releasing
      ? {
          path,
          // Opened here rather than through the platform: this dashboard owns the connection and releases the file.
          open: () => openDuckDbWarehouse({ path, readOnly: true }),
          idleReleaseMs: options.releaseWarehouseWhenIdleMs!,
          release: () => releaseDuckDbFile(path),
          openWaitMs: 5_000,
        }
      : { path, open: () => platform.warehouse({ readOnly: true }) },
  );
  try {
    const server = await createDashboardServer({
      warehouse,
      ledger,
      registry: new ModelRegistry(platform.documents),
      bus: platform.bus,
      log,
      warehouseVersion: warehouseFileVersion(path),
      schema: config.warehouse.warehouseDataset,
      churnHorizonDays: config.trainer.churnHorizonDays,
      hosts: {
        allowedHosts: config.http.allowedHosts,
        ...(config.http.cloudRunService ? { cloudRunService: config.http.cloudRunService } : {}),
      },
    });
    const address = await server
      .listen({
        host: options.host ?? config.dashboard.host,
        port: options.port ?? config.dashboard.port,
        allowRemote: options.allowRemote ?? config.dashboard.allowRemote,
      })
      .catch(async (error: unknown) => {
        await server.close();
        throw error;
      });
    const warmEvery = options.warmEveryMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    if (warmEvery > 0) {
      void server.warm();
      timer = setInterval(() => void server.warm(), warmEvery);
      timer.unref();
    }
    return {
      ...address,
      async close() {
        clearInterval(timer);
        await server.close();
        await observer?.close();
        await warehouse.close();
      },
    };
  } catch (error) {
    await observer?.close();
    await warehouse.close();
    throw error;
  }
}
