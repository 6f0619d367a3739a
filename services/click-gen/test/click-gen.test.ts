import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ConfigError,
  createLogger,
  dispatch,
  utcTomorrow,
  recordProblems,
  type AnyEvent,
  type ObjectStore,
  type PipelineStarted,
} from '@mlops/kernel';
import { FsObjectStore } from '@mlops/adapters-local';
import { InMemoryObjectStore, RecordingPublisher, deliver, testEvent } from '@mlops/testing';
import { createClickGenService } from '../src/index.js';

const generators = { seed: 42, scale: 1, dirtyShare: 0.01, piiHmacKey: 'test-key-0123456789' };
// Run-date bounds by the real clock: tomorrow (UTC) is accepted, the day after is not.
const TOMORROW = utcTomorrow(new Date());
const DAY_AFTER_TOMORROW = utcTomorrow(new Date(`${TOMORROW}T12:00:00Z`));
const date = '2026-03-03';
const key = `bronze/clickstream/dt=${date}/part-00000.jsonl`;

function start(data: Partial<PipelineStarted> = {}, runDate = date): AnyEvent {
  return testEvent('mlops.pipeline.started.v1', { runDate, trigger: 'cli', ...data }, runDate);
}

const folders: string[] = [];
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

const stores: [string, () => ObjectStore][] = [
  ['in memory', () => new InMemoryObjectStore()],
  [
    'on a local folder',
    () => {
      const folder = mkdtempSync(join(tmpdir(), 'mlops-click-'));
      folders.push(folder);
      return new FsObjectStore({ root: folder });
    },
  ],
];

describe.each(stores)('click-gen with the lake %s', (_name, lake) => {
  it('writes the day as JSON lines and announces the partition', async () => {
    const objects = lake();
    const published = await deliver(createClickGenService({ objects, generators }), start());
    const lines = (await objects.get(key)).toString('utf8').trimEnd().split('\n');
    expect(lines.length).toBeGreaterThan(700);
    const [landed] = published.ofType('mlops.bronze.landed.v1');
    const meta = (await objects.head(key))!;
    expect(landed!.data).toMatchObject({
      runDate: date,
      source: 'clickstream',
      format: 'jsonl',
      prefix: `bronze/clickstream/dt=${date}/`,
      objects: [{ key, bytes: meta.bytes, sha256: meta.sha256, rows: lines.length }],
      rowCount: lines.length,
      bytes: meta.bytes,
      loadType: 'daily',
    });
    expect(landed!.data.contentHash).toMatch(/^[0-9a-f]{64}$/);
    const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const invalid = records.filter((record) => recordProblems('click-event', record) !== undefined);
    expect(invalid.length / records.length).toBeGreaterThan(0.004);
    expect(invalid.length / records.length).toBeLessThan(0.013);
  });

  it('gives the same content hash on two runs (determinism)', async () => {
    const a = await deliver(createClickGenService({ objects: lake(), generators }), start());
    const b = await deliver(createClickGenService({ objects: lake(), generators }), start());
    expect(b.ofType('mlops.bronze.landed.v1')[0]!.data.contentHash).toBe(
      a.ofType('mlops.bronze.landed.v1')[0]!.data.contentHash,
    );
  });

  it('leaves exactly one part when run twice, and removes stale parts', async () => {
    const objects = lake();
    await objects.put(`bronze/clickstream/dt=${date}/part-00001.jsonl`, '{"stale":true}\n');
    const service = createClickGenService({ objects, generators });
    const first = await deliver(service, start({ scale: 2 }));
    const second = await deliver(service, start());
    expect((await objects.list(`bronze/clickstream/dt=${date}/`)).map((meta) => meta.key)).toEqual([key]);
    expect(second.ofType('mlops.bronze.landed.v1')[0]!.data.rowCount).toBeLessThan(
      first.ofType('mlops.bronze.landed.v1')[0]!.data.rowCount,
    );
    expect((await objects.get(key)).toString('utf8').trimEnd().split('\n')).toHaveLength(
      second.ofType('mlops.bronze.landed.v1')[0]!.data.rowCount,
    );
  });

  it('writes nothing when the run does not ask for clickstream, and closes its stage as skipped', async () => {
    const objects = lake();
    const published = await deliver(createClickGenService({ objects, generators }), start({ sources: ['sales'] }));
    expect(published.events.map((event) => [event.type, (event.data as { code?: string }).code])).toEqual([
      ['mlops.stage.skipped.v1', 'CLICK_GEN.NOT_REQUESTED'],
    ]);
    expect(await objects.list('bronze/')).toEqual([]);
  });
});

describe('click-gen bad input', () => {
  it.each([
    ['an impossible date', { runDate: '2026-02-30' }],
    ['a negative scale', { scale: -1 }],
    ['an unknown source', { sources: ['weather'] }],
  ])('the schema refuses %s before anything is written', async (_name, data) => {
    const objects = new InMemoryObjectStore();
    await expect(
      deliver(
        createClickGenService({ objects, generators }),
        testEvent('mlops.pipeline.started.v1', { runDate: date, trigger: 'cli', ...data } as PipelineStarted, date),
      ),
    ).rejects.toMatchObject({
      code: 'EVENT.SCHEMA_VIOLATION',
    });
    expect(objects.objects.size).toBe(0);
  });

  it.each([
    ['a zero scale', { scale: 0 }, 'CLICK_GEN.BAD_SCALE'],
    ['an impossible date', { runDate: '2026-02-30' }, 'CLICK_GEN.BAD_RUN_DATE'],
    ['a run date after tomorrow', { runDate: DAY_AFTER_TOMORROW }, 'CLICK_GEN.RUN_DATE_OUT_OF_RANGE'],
    ['run date 9999-12-31', { runDate: '9999-12-31' }, 'CLICK_GEN.RUN_DATE_OUT_OF_RANGE'],
    ['the day before the earliest run date', { runDate: '2019-12-31' }, 'CLICK_GEN.RUN_DATE_OUT_OF_RANGE'],
    ['an unknown source', { sources: ['weather'] }, 'CLICK_GEN.UNKNOWN_SOURCE'],
  ])('the handler refuses %s with %s, writing nothing under bronze/', async (_name, data, code) => {
    const folder = mkdtempSync(join(tmpdir(), 'mlops-click-'));
    folders.push(folder);
    const objects = new FsObjectStore({ root: folder });
    const publisher = new RecordingPublisher();
    const event = testEvent(
      'mlops.pipeline.started.v1',
      { runDate: date, trigger: 'cli', ...data } as PipelineStarted,
      date,
    );
    const delivery = { messageId: '1', subscription: 'click-gen.pipeline-start', attempt: 1, publishedAt: new Date() };
    await expect(
      dispatch(
        createClickGenService({ objects, generators }),
        event,
        delivery,
        publisher,
        createLogger({ sink: () => undefined }),
      ),
    ).rejects.toMatchObject({ code });
    expect(publisher.ofType('mlops.stage.failed.v1')[0]!.data.code).toBe(code);
    expect(readdirSync(folder)).toEqual([]);
  });

  it('refuses to start with a zero scale, naming MLOPS_SCALE', () => {
    expect(() =>
      createClickGenService({ objects: new InMemoryObjectStore(), generators: { ...generators, scale: 0 } }),
    ).toThrow(ConfigError);
  });
});

describe('click-gen run-date bounds', () => {
  it('accepts tomorrow and the earliest run date, and 9999-12-31 only when future dates are allowed', async () => {
    const settings = { ...generators, scale: 0.05 };
    for (const runDate of [TOMORROW, '2020-01-01'])
      await deliver(
        createClickGenService({ objects: new InMemoryObjectStore(), generators: settings }),
        start({}, runDate),
      );
    await expect(
      deliver(
        createClickGenService({ objects: new InMemoryObjectStore(), generators: settings }),
        start({}, '9999-12-31'),
      ),
    ).rejects.toMatchObject({
      code: 'CLICK_GEN.RUN_DATE_OUT_OF_RANGE',
      message: expect.stringContaining('MLOPS_ALLOW_FUTURE_DATES'),
    });
    const allowed = { ...settings, runDates: { earliest: '2020-01-01', allowFuture: true } };
    await deliver(
      createClickGenService({ objects: new InMemoryObjectStore(), generators: allowed }),
      start({}, '9999-12-31'),
    );
  });
});
