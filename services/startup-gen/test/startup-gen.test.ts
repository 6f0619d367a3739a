import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FsObjectStore } from '@mlops/adapters-local';
import { HOSTILE_COMPANY_NAMES, findStartupFullLoad } from '@mlops/synthetic';
import {
  createLogger,
  dispatch,
  utcTomorrow,
  recordProblems,
  type AnyEvent,
  type ObjectStore,
  type PipelineStarted,
} from '@mlops/kernel';
import { InMemoryObjectStore, RecordingPublisher, deliver, testEvent } from '@mlops/testing';
import { createStartupGenService } from '../src/index.js';

const generators = { seed: 42, scale: 1, dirtyShare: 0.01, piiHmacKey: 'test-key-0123456789' };
// Run-date bounds by the real clock: tomorrow (UTC) is accepted, the day after is not.
const TOMORROW = utcTomorrow(new Date());
const DAY_AFTER_TOMORROW = utcTomorrow(new Date(`${TOMORROW}T12:00:00Z`));
const partKey = (date: string) => `bronze/startups/dt=${date}/part-00000.jsonl`;

function start(runDate: string, data: Partial<PipelineStarted> = {}): AnyEvent {
  return testEvent('mlops.pipeline.started.v1', { runDate, trigger: 'cli', ...data }, runDate);
}

async function rows(objects: ObjectStore, date: string): Promise<Record<string, unknown>[]> {
  return (await objects.get(partKey(date)))
    .toString('utf8')
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

const folders: string[] = [];
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});
function folderLake(): FsObjectStore {
  const folder = mkdtempSync(join(tmpdir(), 'mlops-startups-'));
  folders.push(folder);
  return new FsObjectStore({ root: folder });
}

describe.each([
  ['in memory', () => new InMemoryObjectStore() as ObjectStore],
  ['on a local folder', () => folderLake() as ObjectStore],
])('startup-gen with the lake %s', (_name, lake) => {
  it('writes a full load of about 1,000 companies on the first run', async () => {
    const objects = lake();
    const published = await deliver(createStartupGenService({ objects, generators }), start('2026-03-03'));
    const [landed] = published.ofType('mlops.bronze.landed.v1');
    expect(landed!.data).toMatchObject({
      runDate: '2026-03-03',
      source: 'startups',
      format: 'jsonl',
      loadType: 'full',
      prefix: 'bronze/startups/dt=2026-03-03/',
    });
    expect(landed!.rundate).toBe('2026-03-03');
    const full = await rows(objects, '2026-03-03');
    expect(full.length).toBe(landed!.data.rowCount);
    expect(full.length).toBeGreaterThan(900);
    expect(full.every((row) => row.load_type === 'full')).toBe(true);
    expect(await findStartupFullLoad(objects)).toBe('2026-03-03');
    const hostile = full.filter((row) => HOSTILE_COMPANY_NAMES.includes(row.name as string));
    expect(hostile.length).toBeGreaterThan(0);
    expect(
      full.filter((row) => recordProblems('startup-company', row) === undefined).length / full.length,
    ).toBeGreaterThan(0.98);
  });

  it('skips a later weekday, writing nothing, saying why, and closing its stage with stage.skipped', async () => {
    const objects = lake();
    const service = createStartupGenService({ objects, generators });
    await deliver(service, start('2026-03-03'));
    const lines: string[] = [];
    const event = start('2026-03-04');
    const published = await deliver(service, event, {
      log: createLogger({ sink: (line) => lines.push(line) }),
    });
    expect(published.events.map((e) => e.type)).toEqual(['mlops.stage.skipped.v1']);
    expect(published.ofType('mlops.stage.skipped.v1')[0]).toMatchObject({
      runid: event.runid,
      causationid: event.id,
      data: {
        stage: 'startup-gen',
        code: 'STARTUP_GEN.NOT_DUE',
        runDates: ['2026-03-04'],
        causeEventId: event.id,
        reason: expect.stringContaining('first run (2026-03-03) and on Fridays'),
      },
    });
    expect(await objects.list('bronze/startups/dt=2026-03-04/')).toEqual([]);
    const skipped = lines
      .map((line) => JSON.parse(line) as { message: string; severity: string })
      .find((line) => line.message.startsWith('startups skipped'));
    expect(skipped).toMatchObject({ severity: 'INFO' });
    expect(skipped!.message).toContain('first run (2026-03-03) and on Fridays');
  });

  it('writes a delta of new and changed companies on a later Friday', async () => {
    const objects = lake();
    const service = createStartupGenService({ objects, generators });
    await deliver(service, start('2026-03-03'));
    const published = await deliver(service, start('2026-03-13'));
    const [landed] = published.ofType('mlops.bronze.landed.v1');
    expect(landed!.data).toMatchObject({ runDate: '2026-03-13', loadType: 'delta' });
    const delta = await rows(objects, '2026-03-13');
    expect(delta.length).toBeGreaterThan(5);
    expect(delta.length).toBeLessThan(150);
    expect(delta.every((row) => row.load_type === 'delta')).toBe(true);
    const known = new Set((await rows(objects, '2026-03-03')).map((row) => row.company_id));
    expect(delta.filter((row) => known.has(row.company_id)).length).toBeGreaterThan(0);
  });

  it('is idempotent: the full load and a delta run twice leave one part each with the same hash', async () => {
    const objects = lake();
    const service = createStartupGenService({ objects, generators });
    const full1 = await deliver(service, start('2026-03-03'));
    const delta1 = await deliver(service, start('2026-03-06'));
    const full2 = await deliver(service, start('2026-03-03'));
    const delta2 = await deliver(service, start('2026-03-06'));
    const hash = (p: RecordingPublisher) =>
      p.ofType('mlops.bronze.landed.v1').map((e) => [e.data.loadType, e.data.contentHash]);
    expect(hash(full2)).toEqual(hash(full1));
    expect(hash(delta2)).toEqual(hash(delta1));
    expect((await objects.list('bronze/startups/')).map((meta) => meta.key)).toEqual([
      partKey('2026-03-03'),
      partKey('2026-03-06'),
    ]);
  });

  it('gives the same content hash in two lakes (determinism)', async () => {
    const a = await deliver(createStartupGenService({ objects: lake(), generators }), start('2026-03-03'));
    const b = await deliver(createStartupGenService({ objects: lake(), generators }), start('2026-03-03'));
    expect(b.ofType('mlops.bronze.landed.v1')[0]!.data.contentHash).toBe(
      a.ofType('mlops.bronze.landed.v1')[0]!.data.contentHash,
    );
  });

  it('puts the full load at the first date of a backfill window, whichever date comes first', async () => {
    const backfill = { from: '2026-03-02', to: '2026-03-08' };
    const objects = lake();
    const service = createStartupGenService({ objects, generators });
    const friday = await deliver(service, start('2026-03-06', { trigger: 'backfill', backfill }));
    expect(friday.ofType('mlops.bronze.landed.v1').map((e) => [e.rundate, e.data.loadType])).toEqual([
      ['2026-03-02', 'full'],
      ['2026-03-06', 'delta'],
    ]);
    const first = await deliver(service, start('2026-03-02', { trigger: 'backfill', backfill }));
    expect(first.ofType('mlops.bronze.landed.v1').map((e) => [e.rundate, e.data.loadType, e.data.contentHash])).toEqual(
      [['2026-03-02', 'full', friday.ofType('mlops.bronze.landed.v1')[0]!.data.contentHash]],
    );
    expect(
      await deliver(service, start('2026-03-04', { trigger: 'backfill', backfill })).then((p) =>
        p.events.map((e) => [e.type, (e.data as { code?: string }).code]),
      ),
    ).toEqual([['mlops.stage.skipped.v1', 'STARTUP_GEN.NOT_DUE']]);
  });

  it('writes nothing when the run does not ask for startups, and closes its stage as skipped', async () => {
    const objects = lake();
    const published = await deliver(
      createStartupGenService({ objects, generators }),
      start('2026-03-03', { sources: ['sales', 'clickstream'] }),
    );
    expect(published.events.map((event) => [event.type, (event.data as { code?: string }).code])).toEqual([
      ['mlops.stage.skipped.v1', 'STARTUP_GEN.NOT_REQUESTED'],
    ]);
    expect(await objects.list('bronze/')).toEqual([]);
  });
});

describe('startup-gen bad input', () => {
  it.each([
    ['a negative scale', { scale: -1 }, 'EVENT.SCHEMA_VIOLATION'],
    ['an impossible date', { runDate: '2026-02-30' }, 'EVENT.SCHEMA_VIOLATION'],
  ])('the schema refuses %s', async (_name, data, code) => {
    const objects = new InMemoryObjectStore();
    const event = testEvent(
      'mlops.pipeline.started.v1',
      { runDate: '2026-03-03', trigger: 'cli', ...data } as PipelineStarted,
      '2026-03-03',
    );
    await expect(deliver(createStartupGenService({ objects, generators }), event)).rejects.toMatchObject({ code });
    expect(objects.objects.size).toBe(0);
  });

  it.each([
    ['a zero scale', { scale: 0 }, 'STARTUP_GEN.BAD_SCALE'],
    ['an impossible date', { runDate: '2026-02-30' }, 'STARTUP_GEN.BAD_RUN_DATE'],
    ['a run date after tomorrow', { runDate: DAY_AFTER_TOMORROW }, 'STARTUP_GEN.RUN_DATE_OUT_OF_RANGE'],
    ['run date 9999-12-31', { runDate: '9999-12-31' }, 'STARTUP_GEN.RUN_DATE_OUT_OF_RANGE'],
    ['the day before the earliest run date', { runDate: '2019-12-31' }, 'STARTUP_GEN.RUN_DATE_OUT_OF_RANGE'],
    ['an unknown source', { sources: ['weather'] }, 'STARTUP_GEN.UNKNOWN_SOURCE'],
  ])('the handler refuses %s with %s, leaving bronze empty', async (_name, data, code) => {
    const objects = folderLake();
    const publisher = new RecordingPublisher();
    const event = testEvent(
      'mlops.pipeline.started.v1',
      { runDate: '2026-03-03', trigger: 'cli', ...data } as PipelineStarted,
      '2026-03-03',
    );
    const delivery = {
      messageId: '1',
      subscription: 'startup-gen.pipeline-start',
      attempt: 1,
      publishedAt: new Date(),
    };
    await expect(
      dispatch(
        createStartupGenService({ objects, generators }),
        event,
        delivery,
        publisher,
        createLogger({ sink: () => undefined }),
      ),
    ).rejects.toMatchObject({ code });
    expect(publisher.ofType('mlops.stage.failed.v1')[0]!.data.code).toBe(code);
    expect(readdirSync(objects.root)).toEqual([]);
  });
});

describe('startup-gen run-date bounds', () => {
  it('accepts tomorrow and the earliest run date, and 9999-12-31 only when future dates are allowed', async () => {
    const settings = { ...generators, scale: 0.05 };
    for (const runDate of [TOMORROW, '2020-01-01'])
      await deliver(
        createStartupGenService({ objects: new InMemoryObjectStore(), generators: settings }),
        start(runDate),
      );
    await expect(
      deliver(
        createStartupGenService({ objects: new InMemoryObjectStore(), generators: settings }),
        start('9999-12-31'),
      ),
    ).rejects.toMatchObject({
      code: 'STARTUP_GEN.RUN_DATE_OUT_OF_RANGE',
      message: expect.stringContaining('MLOPS_ALLOW_FUTURE_DATES'),
    });
    const allowed = { ...settings, runDates: { earliest: '2020-01-01', allowFuture: true } };
    await deliver(
      createStartupGenService({ objects: new InMemoryObjectStore(), generators: allowed }),
      start('9999-12-31'),
    );
  });
});
