/**
 * Start the dashboard on a platform: host the run-ledger observer (so the ledger fills while the
 * dashboard runs as its own process), serve and listen. On the pull transport the observer
 * consumes the bus; on the HTTP transport (Cloud Run) Eventarc pushes every topic to the
 * dashboard's own server, which listens where Cloud Run says. It reads the warehouse in read
 * sessions only, and refreshes its answers when the warehouse's version changes.
 * `main.ts` and the CLI (`mlops serve`, `npm start`) both use it.
 */
import {
  type HostedService,
  type Platform,
  type PlatformConfig,
  createRunLedgerService,
  hostService,
  ModelRegistry,
  RunLedger,
} from '@mlops/kernel';
import type { Transport } from '@mlops/platform';
import { createDashboardServer, type DashboardAddress, type ListenOptions } from './server.js';

/** Options of {@link startDashboard}; unset ones come from the configuration ({@link listenAddressOf}). */
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

/**
 * Where the dashboard listens by default: `MLOPS_DASHBOARD_HOST`/`_PORT` on the pull transport; on
 * the HTTP transport where every service's transport does (`PORT`, all interfaces on Cloud Run),
 * since Eventarc and Cloud Run's front end reach it there. On Cloud Run a non-loopback bind needs
 * no opt-in: Cloud Run's ingress and invoker check stand in front of it.
 */
export function listenAddressOf(config: PlatformConfig, transport: Transport): ListenOptions {
  const { dashboard, http } = config;
  if (transport === 'pull') return { host: dashboard.host, port: dashboard.port, allowRemote: dashboard.allowRemote };
  return { host: http.host, port: http.port, allowRemote: dashboard.allowRemote || http.cloudRunService !== undefined };
}

/** Start the dashboard on a platform and listen. */
export async function startDashboard(
  platform: Platform,
  options: StartDashboardOptions = {},
): Promise<RunningDashboard> {
  const { config, log } = platform;
  const ledger = new RunLedger(platform.documents);
  const pushed = options.transport === 'http';
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
    const listenAt = listenAddressOf(config, options.transport ?? 'pull');
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
