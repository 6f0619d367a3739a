/**
 * Events from publishers outside the project: the official `@google-cloud/pubsub` client alone puts
 * start events on the Pub/Sub emulator, with no attribute written by this project's code (a
 * structured-mode CloudEvent under `Content-Type`, and a binary-mode one written by hand with `ce-`
 * attributes and no traceparent), and the chain reacts: sales-gen generates the day and the lander
 * lands it in bronze. Runs where the Cloud SDK's emulator is installed; says why it skips otherwise.
 */
import { PubSub } from '@google-cloud/pubsub';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbParquetWriter, FsObjectStore, SqliteDocumentStore } from '@mlops/adapters-local';
import {
  hostService,
  parseTraceparent,
  silentLogger,
  type AnyEvent,
  type CloudEvent,
  type HostedService,
} from '@mlops/kernel';
import { PubSubEventBus } from '@mlops/adapters-gcp';
import {
  skipWithoutEmulator,
  startEmulator,
  uniqueProjectId,
  type RunningEmulator,
  tempDir,
  waitFor,
} from '@mlops/testing';
import { createLanderService } from '@mlops/lander';
import { createSalesGenService } from '@mlops/sales-gen';
import { join } from 'node:path';

const skip = skipWithoutEmulator('pubsub', 'events from outside the project (official Pub/Sub client)');
const generators = { seed: 7, scale: 0.05, dirtyShare: 0.01, piiHmacKey: 'outside-test-key-0123456789' };

describe.skipIf(skip)('start events published with the official Pub/Sub client alone', () => {
  let emulator: RunningEmulator;
  let home: ReturnType<typeof tempDir>;
  let bus: PubSubEventBus;
  let plain: PubSub;
  let documents: SqliteDocumentStore;
  let objects: FsObjectStore;
  let parquet: DuckDbParquetWriter;
  let hosted: HostedService[] = [];
  const landed: CloudEvent<'mlops.bronze.landed.v1'>[] = [];
  const generated: AnyEvent[] = [];
  const projectId = uniqueProjectId('outside');

  beforeAll(async () => {
    emulator = await startEmulator('pubsub');
    home = tempDir('mlops-outside-');
    bus = new PubSubEventBus({ projectId, emulatorHost: emulator.host, backoff: { minMs: 50, maxMs: 200 } });
    plain = new PubSub({
      projectId,
      apiEndpoint: emulator.host,
      emulatorMode: true,
      credentials: { client_email: 'outsider@localhost', private_key: 'unused' },
    });
    documents = new SqliteDocumentStore({ path: join(home.path, 'documents.sqlite') });
    objects = new FsObjectStore({ root: join(home.path, 'lake') });
    parquet = new DuckDbParquetWriter();
    const settings = { maxAttempts: 3, backoff: { minMs: 50, maxMs: 200 } };
    await bus.subscribe(
      { name: 'observer-bronze-landed', topic: 'bronze-landed' },
      async (event) => void landed.push(event as CloudEvent<'mlops.bronze.landed.v1'>),
    );
    await bus.subscribe({ name: 'observer-sales-generated', topic: 'sales-generated' }, async (event) => {
      generated.push(event);
    });
    hosted = [
      await hostService(createSalesGenService({ documents, collection: 'sales', generators }), {
        bus,
        log: silentLogger,
        settings,
      }),
      await hostService(createLanderService({ documents, objects, parquet, tempDir: home.path }), {
        bus,
        log: silentLogger,
        settings,
      }),
    ];
  }, 120_000);

  afterAll(async () => {
    for (const service of hosted) await service.close();
    await bus?.close();
    await plain?.close();
    await documents?.close();
    await parquet?.close();
    home?.remove();
    await emulator?.stop();
  });

  it('a structured-mode CloudEvent (Content-Type: application/cloudevents+json) starts the chain', async () => {
    const date = '2026-08-03';
    const event = {
      specversion: '1.0',
      id: 'outside-structured-1',
      source: '//scheduler.example/daily',
      type: 'mlops.pipeline.started.v1',
      time: '2026-08-04T01:00:00Z',
      datacontenttype: 'application/json',
      runid: 'run_outside_structured',
      rundate: date,
      data: { runDate: date, trigger: 'schedule' },
    };
    await plain.topic('pipeline-start').publishMessage({
      data: Buffer.from(JSON.stringify(event)),
      attributes: { 'Content-Type': 'application/cloudevents+json; charset=UTF-8' },
    });
    await waitFor(() => landed.some((e) => e.rundate === date), `the lander to land ${date}`, 60_000);
    const sales = landed.find((e) => e.rundate === date)!;
    expect(sales).toMatchObject({ runid: 'run_outside_structured', data: { source: 'sales', runDate: date } });
    expect(sales.data.objects[0]!.key).toBe(`bronze/sales/dt=${date}/part-00000.parquet`);
    expect((await objects.head(sales.data.objects[0]!.key))?.bytes).toBeGreaterThan(0);
    // No traceparent was given: a trace was started, and the follow-ups carry it.
    const started = generated.find((e) => e.rundate === date)!;
    expect(parseTraceparent(started.traceparent)!.traceId).toBe(parseTraceparent(sales.traceparent)!.traceId);
  }, 90_000);

  it('a binary-mode message written by hand with ce- attributes and no traceparent starts the chain', async () => {
    const date = '2026-08-04';
    await plain.topic('pipeline-start').publishMessage({
      data: Buffer.from(JSON.stringify({ runDate: date, trigger: 'schedule' })),
      attributes: {
        'ce-specversion': '1.0',
        'ce-id': 'outside-binary-1',
        'ce-source': '//scheduler.example/daily',
        'ce-type': 'mlops.pipeline.started.v1',
        'ce-time': '2026-08-05T01:00:00Z',
        'ce-runid': 'run_outside_binary',
        'ce-rundate': date,
        'Content-Type': 'application/json',
      },
    });
    await waitFor(() => landed.some((e) => e.rundate === date), `the lander to land ${date}`, 60_000);
    expect(landed.find((e) => e.rundate === date)).toMatchObject({
      runid: 'run_outside_binary',
      data: { source: 'sales', runDate: date },
    });
    expect(await bus.listDeadLetters()).toEqual([]);
  }, 90_000);
});
