/**
 * The per-day services hosted in worker threads (as `npm start` hosts them) on the embedded
 * engines: each reacts only to its own subscription on the shared SQLite bus, every date lands
 * exactly once, and the bronze files are byte-identical to those of the same services hosted on
 * the main thread.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createEvent,
  cappedWarehouseMemoryLimit,
  createLogger,
  hostService,
  loadConfig,
  silentLogger,
  type AnyEvent,
  type HostedService,
  type Platform,
} from '@mlops/kernel';
import { createPlatform } from '@mlops/platform';
import { tempDir, waitFor } from '@mlops/testing';
import { startTimeoutS, startWorkers, TWO_SALES_THREADS_FROM_SCALE } from '../src/commands/start.command.js';
import { composeNamed, type WorkerServiceName } from '../src/stack/compose.js';
import { startInProcessStack } from '../src/stack/in-process.js';
import { hostInWorker } from '../src/stack/worker-stack.js';

const DATES = ['2026-03-01', '2026-03-02'];
const GENERATORS: WorkerServiceName[] = ['sales-gen', 'click-gen', 'startup-gen'];
// Startups land on the first run date and on Fridays only.
const LANDED = [
  '2026-03-01 clickstream',
  '2026-03-01 sales',
  '2026-03-01 startups',
  '2026-03-02 clickstream',
  '2026-03-02 sales',
];

function start(runDate: string): AnyEvent {
  return createEvent(
    'mlops.pipeline.started.v1',
    { runDate, trigger: 'cli' },
    { source: '//mlops/test', runid: `run_worker_${runDate}`, rundate: runDate },
  );
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}

/** Run the dates through the per-day services hosted one way; the lake's files and what was published. */
async function land(
  hosting: 'worker' | 'thread' | 'start-workers',
): Promise<{ files: Map<string, string>; generated: string[]; landed: string[]; failed: number }> {
  const home = tempDir(`mlops-worker-${hosting}-`);
  cleanups.push(() => home.remove());
  const config = loadConfig({ MLOPS_HOME: home.path });
  const log = process.env.H31_DEBUG
    ? createLogger({ level: 'debug', sink: (line) => console.error(line) })
    : silentLogger;
  const platform: Platform = await createPlatform(config, { log });
  const generated: string[] = [];
  const landed: string[] = [];
  let failed = 0;
  await platform.bus.subscribe({ name: 'test.sales-generated', topic: 'sales-generated' }, async (event) => {
    generated.push(event.rundate ?? '');
  });
  await platform.bus.subscribe({ name: 'test.bronze-landed', topic: 'bronze-landed' }, async (event) => {
    landed.push(`${event.rundate} ${(event.data as { source: string }).source}`);
  });
  await platform.bus.subscribe({ name: 'test.stage-failed', topic: 'stage-failed' }, async () => {
    failed += 1;
  });
  const stops: { close(): Promise<void> }[] = [];
  if (hosting === 'worker') {
    stops.push(await hostInWorker(platform, GENERATORS), await hostInWorker(platform, ['lander']));
  } else if (hosting === 'start-workers') {
    // `start`'s threads at a large scale: two sales-gen threads competing for one subscription.
    for (const group of startWorkers(TWO_SALES_THREADS_FROM_SCALE)) stops.push(await hostInWorker(platform, group));
  } else {
    const hosted: HostedService[] = [];
    for (const service of composeNamed(platform, [...GENERATORS, 'lander']))
      hosted.push(await hostService(service, { bus: platform.bus, log: silentLogger }));
    stops.push(...hosted);
  }
  try {
    for (const date of DATES) await platform.bus.publish(start(date));
    await waitFor(() => landed.length >= LANDED.length, 'every bronze.landed of the dates', 300_000);
    // Anything redelivered or misrouted would show up within a few polls.
    await new Promise((resolve) => setTimeout(resolve, 300));
  } finally {
    await Promise.all(stops.map((stop) => stop.close()));
  }
  const lake = config.lake.root;
  // The object store's sidecars record the file's mtime; the objects themselves must match.
  const objects = filesUnder(lake).filter((file) => !file.endsWith('.meta.json'));
  const files = new Map(objects.map((file) => [relative(lake, file), readFileSync(file).toString('base64')]));
  await platform.close();
  return { files, generated: generated.sort(), landed: landed.sort(), failed };
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

describe('per-day services in worker threads', () => {
  it('get exactly their events and land byte-identical bronze to the main-thread hosting', {
    timeout: 420_000,
  }, async () => {
    const inWorkers = await land('worker');
    expect(inWorkers.failed).toBe(0);
    expect(inWorkers.generated).toEqual(DATES);
    expect(inWorkers.landed).toEqual(LANDED);
    expect(inWorkers.files.size).toBeGreaterThanOrEqual(LANDED.length);
    const inThread = await land('thread');
    expect(inThread.landed).toEqual(inWorkers.landed);
    expect([...inWorkers.files.keys()].sort()).toEqual([...inThread.files.keys()].sort());
    for (const [file, bytes] of inWorkers.files) expect(bytes, file).toBe(inThread.files.get(file));
  });

  it('land the same bronze with two sales-gen threads on one subscription, each date once', {
    timeout: 420_000,
  }, async () => {
    expect(startWorkers(TWO_SALES_THREADS_FROM_SCALE).filter((group) => group.includes('sales-gen'))).toHaveLength(2);
    expect(startWorkers(1).filter((group) => group.includes('sales-gen'))).toHaveLength(1);
    const twoSales = await land('start-workers');
    expect(twoSales.failed).toBe(0);
    expect(twoSales.generated).toEqual(DATES);
    expect(twoSales.landed).toEqual(LANDED);
    const inThread = await land('thread');
    expect([...twoSales.files.keys()].sort()).toEqual([...inThread.files.keys()].sort());
    for (const [file, bytes] of twoSales.files) expect(bytes, file).toBe(inThread.files.get(file));
  });

  it('reports a worker that cannot host its services, naming them', { timeout: 180_000 }, async () => {
    const home = tempDir('mlops-worker-bad-');
    cleanups.push(() => home.remove());
    const platform = await createPlatform(loadConfig({ MLOPS_HOME: home.path }), { log: silentLogger });
    try {
      const failure = hostInWorker(platform, ['no-such-service' as WorkerServiceName]);
      await expect(failure).rejects.toMatchObject({ code: 'CLI.WORKER_FAILED' });
      await expect(failure).rejects.toThrow(/no-such-service: no such per-day service/);
    } finally {
      await platform.close();
    }
  });
});

describe('startTimeoutS', () => {
  it('grows with days x scale, never below the fixed allowance', () => {
    expect(startTimeoutS(120, 1)).toBe(2160);
    expect(startTimeoutS(365, 10)).toBe(12750);
    expect(startTimeoutS(365, 10)).toBeGreaterThan(3600);
    expect(startTimeoutS(1, 0.01)).toBe(1803);
  });
});

describe('retiring the worker threads of a stack', () => {
  it('closes them once their subscriptions are idle (the generators on their own) and keeps their services hosted on the main thread', {
    timeout: 420_000,
  }, async () => {
    const home = tempDir('mlops-worker-retire-');
    cleanups.push(() => home.remove());
    const lines: string[] = [];
    const log = createLogger({ level: 'info', sink: (line) => lines.push(line) });
    const platform = await createPlatform(loadConfig({ MLOPS_HOME: home.path }), { log });
    const landed: string[] = [];
    await platform.bus.subscribe({ name: 'test.bronze-landed', topic: 'bronze-landed' }, async (event) => {
      landed.push(`${event.rundate} ${(event.data as { source: string }).source}`);
    });
    const stack = await startInProcessStack(platform, { workers: [GENERATORS, ['lander']] });
    try {
      // While the threads live, a warehouse this thread creates gets the landing limit (scale 1).
      expect(cappedWarehouseMemoryLimit('448MB', true)).toBe('320MB');
      expect(cappedWarehouseMemoryLimit('448MB', false)).toBe('448MB');
      await platform.bus.publish(start(DATES[0]!));
      await stack.retireWorkersWhenIdle();
      expect(cappedWarehouseMemoryLimit('448MB', true)).toBe('448MB');
      // Retired only when idle: the first date was generated and landed by then, in the threads.
      expect(landed.sort()).toEqual(LANDED.filter((line) => line.startsWith(DATES[0]!)));
      // The generators' thread on its own subscriptions, the lander's once every thread's are idle.
      const retired = lines
        .filter((line) => line.includes('worker threads retired'))
        .map((line) => (JSON.parse(line) as { services: string }).services);
      expect(retired.sort()).toEqual(['lander', 'sales-gen,click-gen,startup-gen']);
      expect(stack.services.map((hosted) => hosted.service.name)).toEqual(
        expect.arrayContaining([...GENERATORS, 'lander']),
      );
      // A later start event is still generated and landed, now on this thread.
      await platform.bus.publish(start(DATES[1]!));
      await waitFor(() => landed.length >= LANDED.length, 'the second date landed after retiring', 300_000);
      expect(landed.sort()).toEqual(LANDED);
      expect(lines.some((line) => line.includes('worker threads could not retire'))).toBe(false);
    } finally {
      await stack.close();
      await platform.close();
    }
  });
});
