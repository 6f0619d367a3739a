/**
 * The bronze layer end to end on the embedded engines: a real SQLite event bus hosting sales-gen,
 * click-gen, startup-gen and the lander (hostService), a SQLite document store, a folder lake and
 * DuckDB writing Parquet. It lives here rather than under one service because a service's tests
 * may not import another service (.dependency-cruiser.cjs).
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DuckDbParquetWriter,
  FsObjectStore,
  SqliteDocumentStore,
  SqliteEventBus,
  openDuckDbWarehouse,
} from '@mlops/adapters-local';
import {
  createEvent,
  encodeMessage,
  hostService,
  silentLogger,
  type AnyEvent,
  type CloudEvent,
  type HostedService,
  type PipelineStarted,
} from '@mlops/kernel';
import { createClickGenService } from '@mlops/click-gen';
import { createLanderService } from '@mlops/lander';
import { createSalesGenService } from '@mlops/sales-gen';
import { createStartupGenService } from '@mlops/startup-gen';
import { tempDir, waitFor } from '@mlops/testing';

const generators = { seed: 42, scale: 1, dirtyShare: 0.01, piiHmacKey: 'chain-test-key-0123456789' };

function start(runDate: string, data: Partial<PipelineStarted> = {}): AnyEvent {
  return createEvent(
    'mlops.pipeline.started.v1',
    { runDate, trigger: 'cli', ...data },
    { source: '//mlops/test', runid: `run_chain_${runDate}_${Math.random().toString(36).slice(2)}`, rundate: runDate },
  );
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}

describe('bronze chain on the embedded engines', () => {
  let home: ReturnType<typeof tempDir>;
  let bus: SqliteEventBus;
  let documents: SqliteDocumentStore;
  let objects: FsObjectStore;
  let parquet: DuckDbParquetWriter;
  let hosted: HostedService[];
  let landed: CloudEvent<'mlops.bronze.landed.v1'>[];
  let failed: CloudEvent<'mlops.stage.failed.v1'>[];

  beforeEach(async () => {
    home = tempDir('mlops-chain-');
    bus = new SqliteEventBus({
      path: join(home.path, 'bus.sqlite'),
      backoff: { minMs: 20, maxMs: 50 },
      maxAttempts: 2,
      pollMs: 10,
    });
    documents = new SqliteDocumentStore({ path: join(home.path, 'documents.sqlite') });
    objects = new FsObjectStore({ root: join(home.path, 'lake') });
    parquet = new DuckDbParquetWriter();
    landed = [];
    failed = [];
    await bus.subscribe(
      { name: 'test.bronze-landed', topic: 'bronze-landed' },
      async (event) => void landed.push(event as CloudEvent<'mlops.bronze.landed.v1'>),
    );
    await bus.subscribe(
      { name: 'test.stage-failed', topic: 'stage-failed' },
      async (event) => void failed.push(event as CloudEvent<'mlops.stage.failed.v1'>),
    );
    const settings = { maxAttempts: 2, backoff: { minMs: 20, maxMs: 50 } };
    hosted = [
      await hostService(createSalesGenService({ documents, collection: 'sales', generators }), {
        bus,
        log: silentLogger,
        settings,
      }),
      await hostService(createClickGenService({ objects, generators }), { bus, log: silentLogger, settings }),
      await hostService(createStartupGenService({ objects, generators }), { bus, log: silentLogger, settings }),
      await hostService(createLanderService({ documents, objects, parquet, tempDir: home.path }), {
        bus,
        log: silentLogger,
        settings,
      }),
    ];
  });

  afterEach(async () => {
    for (const service of hosted) await service.close();
    await bus.close();
    await documents.close();
    await parquet.close();
    home.remove();
  });

  it('lands sales (through the document store and the lander), clickstream and startups for a start event, once however often it runs', async () => {
    const date = '2026-03-06';
    await bus.publish(start(date));
    await waitFor(() => landed.length === 3, 'three bronze.landed events', 30_000);
    expect(landed.map((event) => [event.data.source, event.data.loadType]).sort()).toEqual([
      ['clickstream', 'daily'],
      ['sales', 'daily'],
      ['startups', 'full'],
    ]);
    const sales = landed.find((event) => event.data.source === 'sales')!;
    const stored = await documents.count('sales', { where: [{ field: 'run_date', op: '==', value: date }] });
    expect(sales.data.rowCount).toBe(stored);
    const reader = await openDuckDbWarehouse({ path: ':memory:' });
    const [count] = await reader.query(
      `select count(*) as n, count(distinct _document_id) as ids from read_parquet('${objects.uri(sales.data.objects[0]!.key)}')`,
    );
    await reader.close();
    expect(count).toEqual({ n: stored, ids: stored });
    const hashes = Object.fromEntries(landed.map((event) => [event.data.source, event.data.contentHash]));

    // Again, as a replay would: one copy of everything, the same bytes.
    landed.length = 0;
    await bus.publish(start(date));
    await waitFor(() => landed.length === 3, 'three more bronze.landed events', 30_000);
    expect(Object.fromEntries(landed.map((event) => [event.data.source, event.data.contentHash]))).toEqual(hashes);
    expect(await documents.count('sales', { where: [{ field: 'run_date', op: '==', value: date }] })).toBe(stored);
    expect((await objects.list('bronze/')).map((meta) => meta.key)).toEqual([
      `bronze/clickstream/dt=${date}/part-00000.jsonl`,
      `bronze/sales/dt=${date}/part-00000.parquet`,
      `bronze/startups/dt=${date}/part-00000.jsonl`,
    ]);
    expect(failed).toEqual([]);

    // No raw e-mail address or phone number anywhere: not in the documents, not in the lake.
    for (const file of [join(home.path, 'documents.sqlite'), ...filesUnder(join(home.path, 'lake'))]) {
      expect(readFileSync(file).toString('latin1'), file).not.toMatch(/[a-z]+\.[a-z]+\d+@[a-z.]+example|\+1\d{10}/);
    }
  });

  it('dead-letters a start event for an impossible date at every service, and nothing lands', async () => {
    const event = createEvent(
      'mlops.pipeline.started.v1',
      { runDate: '2026-02-30', trigger: 'cli' },
      { source: '//mlops/test', runid: 'run_bad', rundate: '2026-02-28' },
    );
    await bus.publishRaw('pipeline-start', encodeMessage(event as AnyEvent));
    await waitFor(async () => (await bus.listDeadLetters()).length === 3, 'three dead letters', 10_000);
    const dead = await bus.listDeadLetters();
    expect(dead.map((letter) => letter.subscription).sort()).toEqual([
      'click-gen.pipeline-start',
      'sales-gen.pipeline-start',
      'startup-gen.pipeline-start',
    ]);
    expect(new Set(dead.map((letter) => letter.code))).toEqual(new Set(['EVENT.SCHEMA_VIOLATION']));
    expect(dead[0]!.reason).toContain('runDate');
    expect(await objects.list('bronze/')).toEqual([]);
    expect(await documents.count('sales')).toBe(0);
  });

  it('dead-letters an empty day at the lander with LANDER.SOURCE_EMPTY and announces stage.failed', async () => {
    await bus.publish(
      createEvent(
        'mlops.sales.generated.v1',
        { runDate: '2026-03-09', collection: 'sales', documentCount: 0, dirtyCount: 0 },
        { source: '//mlops/test', runid: 'run_empty', rundate: '2026-03-09' },
      ),
    );
    await waitFor(() => failed.length === 1, 'stage.failed', 10_000);
    expect(failed[0]!.data).toMatchObject({ stage: 'lander', code: 'LANDER.SOURCE_EMPTY', runDates: ['2026-03-09'] });
    const dead = await bus.listDeadLetters({ subscription: 'lander.sales-generated' });
    expect(dead.map((letter) => letter.code)).toEqual(['LANDER.SOURCE_EMPTY']);
    expect(await objects.list('bronze/')).toEqual([]);
    expect(readdirSync(home.path).filter((name) => name.startsWith('mlops-lander-'))).toEqual([]);
  });

  // Bounded generously: on a quiet 2-core machine this takes ~20 s, mostly SQLite writes.
  it('works at scale 100 for one day, in bounded time', { timeout: 150_000 }, async () => {
    const started = performance.now();
    await bus.publish(start('2026-03-03', { scale: 100, sources: ['sales'] }));
    await waitFor(() => landed.length === 1, 'the sales partition', 140_000);
    const seconds = (performance.now() - started) / 1000;
    expect(landed[0]!.data.rowCount).toBeGreaterThan(70_000);
    expect(landed[0]!.data.rowCount).toBeLessThan(130_000);
    expect(seconds).toBeLessThan(120);
    expect(statSync(objects.uri(landed[0]!.data.objects[0]!.key)).size).toBe(landed[0]!.data.bytes);
    console.log(
      `scale 100: ${landed[0]!.data.rowCount} orders generated, stored and landed in ${seconds.toFixed(1)} s`,
    );
  });
});
