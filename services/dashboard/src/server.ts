/**
 * The dashboard server: a JSON API over the gold layer (read-only), the run ledger, the model
 * registry and the bus, and the static page that draws it. Everything it reads comes in through
 * `deps`, so tests hand it their own warehouse and stores.
 */
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import {
  type HostPolicy,
  type LedgerEntry,
  type Logger,
  type ModelRegistry,
  type PushDeliveryDeps,
  type RunLedger,
  type Service,
  type WarehouseAccess,
  createPushRequestHandler,
  errorCode,
  errorMessage,
  handlePushDelivery,
  PlatformError,
} from '@mlops/kernel';
import Fastify, { type FastifyInstance, type FastifyServerFactory } from 'fastify';
import { assertBindable } from './bind.js';
import { createAnswerCache, timeSlot } from './cache.js';
import { DashboardError, DashboardErrors } from './errors.js';
import { createGoldReader } from './gold.reader.js';
import { registerHistoricalRoutes } from './historical.routes.js';
import type { BusView } from './operations.queries.js';
import { registerOperationsRoutes } from './operations.routes.js';
import { registerOverviewRoutes } from './overview.routes.js';
import { registerPredictiveRoutes } from './predictive.routes.js';
import { createResponder, type RouteContext } from './route-context.js';
import { hostGuard, SECURITY_HEADERS } from './security.js';
import { loadStaticFiles, registerStaticRoutes } from './static.routes.js';
import { EXERCISE_RANGES, warmUp } from './warm.js';

/** What the dashboard reads, and how. */
export interface DashboardDeps {
  /** The warehouse (`platform.warehouse`): the dashboard only opens read sessions on it. */
  warehouse: WarehouseAccess;
  /** Longest wait of a warehouse query while a writer holds the warehouse (default 5 s). */
  readWaitMs?: number;
  /** The run ledger (runs, stages, events). */
  ledger: RunLedger;
  /** The model registry (versions, metrics, feature importance, promotions). */
  registry: ModelRegistry;
  /** Dead letters and subscription counts. */
  bus: BusView;
  log: Logger;
  /** Schema (dataset) of the gold tables (default `warehouse`). */
  schema?: string;
  /** Registry name of the churn model (default `churn`). */
  modelName?: string;
  /** Days without an order that count as churn (default 30, as the trainer's label). */
  churnHorizonDays?: number;
  /** How long answers from the ledger, registry and bus may be reused, in ms (default 1000). */
  liveCacheMs?: number;
  /** Answers kept in memory (default 500; 0 turns caching off). */
  cacheEntries?: number;
  /** Ranges each ranged endpoint answers in the warm-up to run its code before anyone connects (default 48). */
  warmRanges?: number;
  /** Folder of the page's files (default: this package's `public/`). */
  publicDir?: string;
  /** Hosts answered besides the loopback names (MLOPS_ALLOWED_HOSTS); any other Host gets 421. */
  hosts?: HostPolicy;
  /** Clock (tests). */
  now?: () => number;
  /**
   * A service whose events arrive as pushes (`MLOPS_TRANSPORT=http`: the run-ledger observer on
   * Cloud Run, fed by Eventarc): `POST /` is its CloudEvents receiver, as every service's HTTP
   * transport is, with the same Host policy as the pages.
   */
  pushes?: { service: Service; delivery: PushDeliveryDeps };
}

/** Where the dashboard listens. */
export interface ListenOptions {
  host: string;
  port: number;
  /** Allow a non-loopback host (MLOPS_DASHBOARD_ALLOW_REMOTE). */
  allowRemote: boolean;
}

/** The address the dashboard listens on. */
export interface DashboardAddress {
  url: string;
  host: string;
  port: number;
}

/** A created (not yet listening) dashboard. */
export interface DashboardServer {
  readonly app: FastifyInstance;
  /** Listen on `host:port`; refuses a non-loopback host unless `allowRemote` (DASHBOARD.REMOTE_BIND_REFUSED). */
  listen(options: ListenOptions): Promise<DashboardAddress>;
  /**
   * Compute what the page asks first, unless the warehouse has not changed since the last
   * warm-up; resolves to whether it ran. Errors are logged, never thrown.
   */
  warm(): Promise<boolean>;
  /** Stop listening and drop open connections. */
  close(): Promise<void>;
}

/** Default folder of the page. */
export const DEFAULT_PUBLIC_DIR = fileURLToPath(new URL('../public/', import.meta.url));

/** Create the dashboard server (routes registered, not listening yet). */
export async function createDashboardServer(deps: DashboardDeps): Promise<DashboardServer> {
  const log = deps.log.child({ service: 'dashboard' });
  const now = deps.now ?? Date.now;
  const cache = createAnswerCache({ maxEntries: deps.cacheEntries ?? 500 });
  const gold = createGoldReader({
    warehouse: deps.warehouse,
    cache,
    ...(deps.schema ? { schema: deps.schema } : {}),
    ...(deps.readWaitMs !== undefined ? { readWaitMs: deps.readWaitMs } : {}),
  });
  const live = timeSlot(deps.liveCacheMs ?? 1000, now);
  // The ledger is followed: each live slot reads only what was recorded since the previous one.
  const follower = deps.ledger.follow();
  // The same array while nothing changed, so what is derived from it (the runs) is derived once.
  let entries: LedgerEntry[] | undefined;
  const ledgerEntries = () =>
    cache.remember<LedgerEntry[]>('ledger:entries', live(), async () => {
      const changed = await follower.poll();
      if (changed.length > 0 || entries === undefined) entries = follower.entries();
      return entries;
    });
  const context: RouteContext = {
    gold,
    registry: deps.registry,
    bus: deps.bus,
    ledgerEntries,
    liveValue: (key, compute) => cache.remember(`live:${key}`, live(), compute),
    modelName: deps.modelName ?? 'churn',
    horizonDays: deps.churnHorizonDays ?? 30,
    respond: createResponder(cache, { gold: () => gold.version(), live }),
  };

  const app = Fastify({
    logger: false,
    forceCloseConnections: true,
    return503OnClosing: true,
    routerOptions: { ignoreTrailingSlash: true },
    ...(deps.pushes ? { serverFactory: pushReceivingServer(deps.pushes, deps.hosts) } : {}),
  });

  app.addHook('onRequest', hostGuard(deps.hosts, log));
  app.addHook('onSend', async (_request, reply, payload) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) reply.header(name, value);
    return payload;
  });
  app.addHook('onResponse', async (request, reply) => {
    log.debug('request', {
      method: request.method,
      route: request.routeOptions.url ?? 'unknown',
      status: reply.statusCode,
      durationMs: Math.round(reply.elapsedTime),
    });
  });

  app.setErrorHandler(async (error, request, reply) => {
    let known: DashboardError;
    if (error instanceof DashboardError) known = error;
    else if (error instanceof PlatformError) known = new DashboardError(error.code, error.message);
    else if (
      typeof (error as { statusCode?: unknown }).statusCode === 'number' &&
      (error as { statusCode: number }).statusCode < 500
    ) {
      // fastify's own 4xx (a malformed URL, a body on a GET): a bad request, said plainly.
      return reply
        .code((error as { statusCode: number }).statusCode)
        .send({ error: { code: 'DASHBOARD.BAD_REQUEST', message: errorMessage(error) } });
    } else known = DashboardErrors.internal();
    const status = known.statusCode;
    if (status >= 500)
      log.error('request failed', {
        route: request.routeOptions.url ?? 'unknown',
        code: errorCode(error),
        error: errorMessage(error),
        cause: errorMessage((error as { cause?: unknown }).cause ?? ''),
      });
    return reply
      .code(status)
      .header('cache-control', 'no-store')
      .send({ error: { code: known.code, message: known.message } });
  });
  app.setNotFoundHandler(async (request, reply) => {
    const path = request.url.split('?')[0] ?? request.url;
    const error = DashboardErrors.notFound(request.method, path);
    return reply.code(404).send({ error: { code: error.code, message: error.message } });
  });

  registerStaticRoutes(app, loadStaticFiles(deps.publicDir ?? DEFAULT_PUBLIC_DIR));
  registerOverviewRoutes(app, context);
  registerHistoricalRoutes(app, context);
  registerPredictiveRoutes(app, context);
  registerOperationsRoutes(app, context);
  await app.ready();

  let warmedVersion: string | undefined;
  let warming: Promise<boolean> | undefined;
  const warm = async (): Promise<boolean> => {
    const started = performance.now();
    try {
      // An unreachable warehouse fails here too: logged, never a rejection of the warm-up timer.
      const version = await gold.version();
      if (version === 'missing' || version === warmedVersion) return false;
      const { requests, complete } = await warmUp(app, deps.warmRanges ?? EXERCISE_RANGES);
      // A writer held the warehouse: the next tick tries again.
      if (!complete) return false;
      // The reads are done: close the file now, not a second later in the middle of serving.
      await deps.warehouse.release?.();
      warmedVersion = version;
      log.info('dashboard warmed up', { requests, durationMs: Math.round(performance.now() - started) });
      return true;
    } catch (error) {
      log.warning('dashboard warm-up failed', { error: errorMessage(error) });
      return false;
    }
  };

  return {
    app,
    warm: () => (warming ??= warm().finally(() => (warming = undefined))),
    async listen(options) {
      await assertBindable(options.host, options.allowRemote);
      await app.listen({ host: options.host, port: options.port });
      const address = app.server.address();
      const port = typeof address === 'object' && address ? address.port : options.port;
      const host = options.host.includes(':') && !options.host.startsWith('[') ? `[${options.host}]` : options.host;
      const url = `http://${host}:${port}/`;
      log.info('dashboard listening', { url });
      return { url, host: options.host, port };
    },
    async close() {
      await app.close();
    },
  };
}

/**
 * A server that hands `POST /` (where Eventarc's triggers deliver) to the platform's push handling
 * before fastify sees the body, and every other request to fastify.
 */
function pushReceivingServer(
  pushes: NonNullable<DashboardDeps['pushes']>,
  hosts: HostPolicy | undefined,
): FastifyServerFactory {
  const { service, delivery } = pushes;
  const receive = createPushRequestHandler(
    service.name,
    (incoming) => handlePushDelivery(service, incoming, delivery),
    {
      ...(hosts ? { hosts } : {}),
      log: delivery.log,
      maxMessageBytes: delivery.maxMessageBytes,
    },
  );
  // A request without Host is refused by the Host checks (421, JSON), as on the services' transport.
  return (handler) =>
    createServer({ requireHostHeader: false }, (request, response) => {
      const path = (request.url ?? '/').split('?')[0];
      if (request.method === 'POST' && path === '/') receive(request, response);
      else handler(request, response);
    });
}
