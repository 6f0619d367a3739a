import {
  capWarehouseMemory,
  createRunLedgerService,
  landingWarehouseMemoryCap,
  eventTypes,
  hostService,
  RunLedger,
  subscriptionName,
  topicOf,
  type EventType,
  type HostedService,
  type Platform,
  type Service,
  type Topic,
} from '@mlops/kernel';
import { clickGenFromPlatform } from '@mlops/click-gen';
import { landerFromPlatform } from '@mlops/lander';
import { salesGenFromPlatform } from '@mlops/sales-gen';
import { startupGenFromPlatform } from '@mlops/startup-gen';
import { trainerFromPlatform } from '@mlops/trainer';
import { transformerFromPlatform } from '@mlops/transformer';
import type { WorkerServiceName } from './compose.js';
import { hostInWorker } from './worker-stack.js';
import { subscriptionsOf, untilSubscriptionsIdle } from './worker-retire.js';

/** Every service of the pipeline, composed on one platform (the order is the pipeline's). */
export async function composeServices(platform: Platform): Promise<Service[]> {
  // The warehouse is opened read-write first, before any read-only user in this process.
  return [
    salesGenFromPlatform(platform),
    clickGenFromPlatform(platform),
    startupGenFromPlatform(platform),
    landerFromPlatform(platform),
    await transformerFromPlatform(platform),
    await trainerFromPlatform(platform),
    createRunLedgerService(new RunLedger(platform.documents)),
  ];
}

/** The whole pipeline hosted in this process on the platform's bus. */
export interface InProcessStack {
  /** The services hosted on this thread's event loop (not those of the worker threads). */
  readonly services: readonly HostedService[];
  /**
   * Call once every event for the worker threads' services is published (every start event): when
   * their subscriptions have nothing pending (retries included) or in flight, the threads close,
   * giving back their memory, and their services are hosted on this thread instead, so a later
   * event (another run, a replay) is still handled. A thread of generators (fed by start events
   * only) goes as soon as its own subscriptions are idle, the others once every thread's are.
   * Resolves when all have retired, or when the stack closes first.
   */
  retireWorkersWhenIdle(): Promise<void>;
  close(): Promise<void>;
}

/** Options of {@link startInProcessStack}. */
export interface InProcessStackOptions {
  /**
   * Groups of per-day services each hosted in a worker thread of this process (local mode only:
   * the SQLite bus and document store are shared through their files); the rest on this thread.
   */
  workers?: readonly (readonly WorkerServiceName[])[];
}

/**
 * Host every service in this process: the embedded mode's topology. Each service still only
 * reacts to events on its own subscriptions, exactly as it would as its own process.
 */
export async function startInProcessStack(
  platform: Platform,
  options: InProcessStackOptions = {},
): Promise<InProcessStack> {
  const settings = {
    maxAttempts: platform.config.bus.maxAttempts,
    backoff: { minMs: platform.config.bus.backoffMinMs, maxMs: platform.config.bus.backoffMaxMs },
  };
  const groups = platform.config.mode === 'local' ? (options.workers ?? []) : [];
  const elsewhere = new Set<string>(groups.flat());
  const workers: { services: readonly string[]; close(): Promise<void> }[] = [];
  const hosted: HostedService[] = [];
  // The worker threads' services composed here too, hosted on this thread once the threads retire.
  const spare: Service[] = [];
  let closing = false;
  let retiring: Promise<void> | undefined;
  const close = async () => {
    closing = true;
    await retiring;
    await Promise.all([...hosted, ...workers.splice(0)].map((service) => service.close()));
    if (groups.length > 0) capWarehouseMemory(undefined);
  };
  /** Close the threads hosting only `services` once `watched` is idle; their services move to this thread. */
  const retireGroup = async (services: ReadonlySet<string>, watched: ReadonlySet<string>) => {
    if (!(await untilSubscriptionsIdle(platform.bus, watched, { pollMs: 250, stopped: () => closing }))) return;
    const threads = workers.filter((worker) => worker.services.every((name) => services.has(name)));
    for (const thread of threads) workers.splice(workers.indexOf(thread), 1);
    await Promise.all(threads.map((worker) => worker.close()));
    const moving = spare.filter((service) => services.has(service.name));
    for (const service of moving) {
      spare.splice(spare.indexOf(service), 1);
      hosted.push(await hostService(service, { bus: platform.bus, log: platform.log, settings }));
    }
    platform.log.info('worker threads retired: their services are hosted on the main thread', {
      services: [...services].join(','),
    });
  };
  // Threads whose services consume only start events (the generators: every start event is
  // published by now) retire as soon as their own subscriptions are idle; the others (the lander,
  // fed by sales-gen) once every thread's are. The generators' threads then no longer add their
  // heaps to the process's peak, the end of landing beside the first transform run.
  const retire = async () => {
    if (workers.length === 0) return;
    const startOnly = (group: readonly string[]) =>
      group.every((name) => (TOPOLOGY[name] ?? []).every((type) => type === 'mlops.pipeline.started.v1'));
    const early = new Map<string, Set<string>>();
    for (const group of groups) if (startOnly(group)) early.set([...group].sort().join(','), new Set(group));
    const late = new Set(groups.filter((group) => !startOnly(group)).flat());
    await Promise.all([
      ...[...early.values()].map((services) => retireGroup(services, subscriptionsOf(TOPOLOGY, [...services]))),
      ...(late.size > 0 ? [retireGroup(late, subscriptionsOf(TOPOLOGY, [...elsewhere]))] : []),
    ]);
    if (workers.length === 0) capWarehouseMemory(undefined);
  };
  // While the threads live, their heaps share the process with the warehouse's DuckDB: the run that
  // creates the warehouse (the first of `start`, beside the last dates landing) gets a lower limit.
  if (groups.length > 0) capWarehouseMemory(landingWarehouseMemoryCap(platform.config));
  try {
    // The workers load their modules while this thread composes its own services.
    const started = groups.map((group) =>
      hostInWorker(platform, group).then((worker) => {
        workers.push({ services: group, close: () => worker.close() });
      }),
    );
    const own = Promise.resolve().then(async () => {
      for (const service of await composeServices(platform))
        if (elsewhere.has(service.name)) spare.push(service);
        else hosted.push(await hostService(service, { bus: platform.bus, log: platform.log, settings }));
    });
    const outcomes = await Promise.allSettled([own, ...started]);
    const failure = outcomes.find((outcome) => outcome.status === 'rejected');
    if (failure) throw failure.reason;
  } catch (error) {
    await close();
    throw error;
  }
  return {
    services: hosted,
    retireWorkersWhenIdle: () => {
      retiring ??= retire().catch((error: unknown) =>
        platform.log.error('worker threads could not retire', { services: [...elsewhere].join(','), error }),
      );
      return retiring;
    },
    close,
  };
}

/**
 * The topology: which service consumes which event types. The same table as the Terraform's
 * `consumers` and docker-compose's services; a test checks it against the composed services.
 */
export const TOPOLOGY: Readonly<Record<string, readonly EventType[]>> = {
  'sales-gen': ['mlops.pipeline.started.v1'],
  'click-gen': ['mlops.pipeline.started.v1'],
  'startup-gen': ['mlops.pipeline.started.v1'],
  lander: ['mlops.sales.generated.v1'],
  transformer: ['mlops.bronze.landed.v1'],
  trainer: ['mlops.warehouse.ready.v1', 'mlops.stage.failed.v1'],
  dashboard: eventTypes,
};

/**
 * The completion topics of gcp mode (Cloud Logging sinks of Dataform and Vertex AI job states, not
 * platform events) and the services that consume them; the same as the Terraform's `consumers`.
 */
export const COMPLETION_TOPOLOGY: Readonly<Record<string, readonly string[]>> = {
  transformer: ['dataform-completions'],
  trainer: ['vertex-completions'],
};

/**
 * Create every subscription of the topology without consuming, so nothing published is lost; in
 * gcp mode the completion topics' too.
 */
export async function ensureTopology(platform: Platform): Promise<void> {
  const settings = {
    maxAttempts: platform.config.bus.maxAttempts,
    backoff: { minMs: platform.config.bus.backoffMinMs, maxMs: platform.config.bus.backoffMaxMs },
  };
  const subscriptions: (readonly [string, string])[] = Object.entries(TOPOLOGY).flatMap(([service, types]) =>
    [...new Set(types.map((type) => topicOf(type)))].map((topic) => [service, topic] as const),
  );
  if (platform.config.mode === 'gcp')
    for (const [service, topics] of Object.entries(COMPLETION_TOPOLOGY))
      for (const topic of topics) subscriptions.push([service, topic]);
  // A completion topic is Cloud Logging's, not an event topic; the Pub/Sub bus provisions any name.
  for (const [service, topic] of subscriptions)
    await platform.bus.ensureSubscription({
      name: subscriptionName(service, topic),
      topic: topic as Topic,
      ...settings,
    });
}
