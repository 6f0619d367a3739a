/**
 * Start the dashboard on a platform: host the run-ledger observer (so the ledger fills while the
 * dashboard runs as its own process), serve and listen. On the pull transport the observer
 * consumes the bus; on the HTTP transport (Cloud Run) Eventarc pushes every topic to the
 * dashboard's own server, which listens where Cloud Run says. It reads the warehouse in read
 * sessions only, and refreshes its answers when the warehouse's version changes.
 * `main.ts` and the CLI (`mlops serve`, `npm start`) both use it.
 */
import type { HostedService, Platform, Transport } from '@mlops/shared';
import { createRunLedgerService, hostService, ModelRegistry, RunLedger } from '@mlops/shared';
import { createDashboardServer, type DashboardAddress } from './server.js';

/** Options of {@link startDashboard}; unset ones come from `platform.config.dashboard`. */
export interface StartDashboardOptions {
  host?: string;
  port?: number;
  allowRemote?: boolean;
  /** Host the run-ledger observer (default true). */
  hostLedger?: boolean;
  /**
   * How the observer receives events (default pull: subscribed to the bus). `http`: as Eventarc
   * pushes on `POST /`; the dashboard then listens on `config.http` (`PORT`, all interfaces on
   * Cloud Run, where Cloud Run's invoker check stands in front of it) unless told otherwise.
   */
  transport?: Transport;
  /** Warm the answer cache at start and whenever the warehouse changes, checked this often (default 2 s; 0: never). */
  warmEveryMs?: number;
}

/** A listening dashboard. */
export interface RunningDashboard extends DashboardAddress {
  /** Stop the server and the ledger observer (not the platform). */
  close(): Promise<void>;
}

/** Start the dashboard on a platform and listen. */
export async function startDashboard(
  platform: Platform,
  options: StartDashboardOptions = {},
): Promise<RunningDashboard> {
  const { config, log } = platform;
  const ledger = new RunLedger(platform.documents);
  const pushed = options.transport === 'http';
  const onCloudRun = config.http.cloudRunService !== undefined;
  const observer: HostedService | undefined =
    options.hostLedger === false || pushed
      ? undefined
      : await hostService(createRunLedgerService(ledger), {
          bus: platform.bus,
          log,
          settings: {
            maxAttempts: config.bus.maxAttempts,
            backoff: { minMs: config.bus.backoffMinMs, maxMs: config.bus.backoffMaxMs },
          },
        });
  try {
    const server = await createDashboardServer({
      warehouse: platform.warehouse,
      ledger,
      registry: new ModelRegistry(platform.documents),
      bus: platform.bus,
      log,
      schema: config.warehouse.warehouseDataset,
      churnHorizonDays: config.trainer.churnHorizonDays,
      hosts: {
        allowedHosts: config.http.allowedHosts,
        ...(config.http.cloudRunService ? { cloudRunService: config.http.cloudRunService } : {}),
      },
      ...(pushed && options.hostLedger !== false
        ? {
            pushes: {
              service: createRunLedgerService(ledger),
              delivery: {
                bus: platform.bus,
                log,
                maxAttempts: config.bus.maxAttempts,
                maxMessageBytes: config.bus.maxMessageBytes,
              },
            },
          }
        : {}),
    });
    const listenAt = pushed
      ? { host: config.http.host, port: config.http.port, allowRemote: config.dashboard.allowRemote || onCloudRun }
      : { host: config.dashboard.host, port: config.dashboard.port, allowRemote: config.dashboard.allowRemote };
    const address = await server
      .listen({
        host: options.host ?? listenAt.host,
        port: options.port ?? listenAt.port,
        allowRemote: options.allowRemote ?? listenAt.allowRemote,
      })
      .catch(async (error: unknown) => {
        await server.close();
        throw error;
      });
    const warmEvery = options.warmEveryMs ?? 2_000;
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
      },
    };
  } catch (error) {
    await observer?.close();
    throw error;
  }
}
