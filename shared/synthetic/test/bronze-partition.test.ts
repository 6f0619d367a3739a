import { describe, expect, it } from 'vitest';
import {
  bronzeLandedData,
  partitionContentHash,
  removeStaleObjects,
  replaceJsonlPartition,
  startedGeneration,
  type StartEventErrors,
} from '@mlops/synthetic';
import { type PipelineStarted } from '@mlops/kernel';
import { InMemoryObjectStore } from '@mlops/testing';

describe('landing a bronze partition', () => {
  it('makes the records the whole partition: one JSON-lines part, other objects of that partition gone, other partitions kept', async () => {
    const objects = new InMemoryObjectStore();
    await objects.put('bronze/clickstream/dt=2026-03-03/part-00001.jsonl', '{"old":true}\n');
    await objects.put('bronze/clickstream/dt=2026-03-04/part-00000.jsonl', '{"next":true}\n');
    const records = [{ data: { a: 1 } }, { data: { a: 2 }, dirty: 'negative-amount' }, { data: { a: 'é' } }];
    const { object, tally, staleRemoved } = await replaceJsonlPartition(objects, 'clickstream', '2026-03-03', records);
    expect(tally).toEqual({ rows: 3, dirty: 1 });
    expect(staleRemoved).toBe(1);
    expect(object).toMatchObject({
      key: 'bronze/clickstream/dt=2026-03-03/part-00000.jsonl',
      rows: 3,
      bytes: Buffer.byteLength('{"a":1}\n{"a":2}\n{"a":"é"}\n'),
    });
    expect((await objects.list('bronze/clickstream/')).map((meta) => meta.key)).toEqual([
      'bronze/clickstream/dt=2026-03-03/part-00000.jsonl',
      'bronze/clickstream/dt=2026-03-04/part-00000.jsonl',
    ]);
    expect(await removeStaleObjects(objects, 'bronze/clickstream/dt=2026-03-03/', [object.key])).toBe(0);
  });

  it('describes a partition of several parts as bronze.landed does: summed rows and bytes, the content hash, the backfill window when there is one', () => {
    const parts = [
      { key: 'bronze/sales/dt=2026-03-03/part-00001.parquet', bytes: 20, sha256: 'b'.repeat(64), rows: 2 },
      { key: 'bronze/sales/dt=2026-03-03/part-00000.parquet', bytes: 10, sha256: 'a'.repeat(64), rows: 5 },
    ];
    expect(bronzeLandedData('sales', '2026-03-03', 'parquet', parts, 'daily')).toEqual({
      runDate: '2026-03-03',
      source: 'sales',
      format: 'parquet',
      prefix: 'bronze/sales/dt=2026-03-03/',
      objects: parts,
      rowCount: 7,
      bytes: 30,
      contentHash: partitionContentHash(parts),
      loadType: 'daily',
    });
    expect(
      bronzeLandedData('sales', '2026-03-03', 'parquet', parts, 'daily', { from: '2026-03-01', to: '2026-03-05' })
        .backfill,
    ).toEqual({ from: '2026-03-01', to: '2026-03-05' });
  });
});

describe('what a start event asks of a generator', () => {
  const errors: StartEventErrors = {
    unknownSource: (sources) => new Error(`unknown ${sources.join(',')}`),
    badRunDate: (runDate) => new Error(`bad date ${String(runDate)}`),
    badGeneration: (problem) => new Error(`bad ${problem.setting}`),
    runDateOutOfRange: (runDate, reason) => new Error(`out of range ${runDate}: ${reason}`),
  };
  const settings = { seed: 7, scale: 1, dirtyShare: 0.01 };
  const lines: string[] = [];
  const log = { info: (message: string) => void lines.push(message) };
  const started = (data: Partial<PipelineStarted>) =>
    ({ runDate: '2026-03-03', trigger: 'manual', ...data }) as PipelineStarted;

  it("gives the event's scale and seed over the configured ones, and undefined with a log line for a source the run does not ask for", () => {
    expect(startedGeneration(started({ scale: 3 }), 'sales', settings, errors, log)).toEqual({
      seed: 7,
      scale: 3,
      dirtyShare: 0.01,
    });
    expect(startedGeneration(started({ sources: ['sales'] }), 'startups', settings, errors, log)).toBeUndefined();
    expect(lines).toEqual(['startups skipped: the run does not ask for the startups source']);
  });

  it.each([
    ['an unknown source', { sources: ['sales', 'weather'] }, 'unknown weather'],
    ['an impossible date', { runDate: '2026-02-30' }, 'bad date 2026-02-30'],
    ['a negative scale', { scale: -1 }, 'bad scale'],
  ] as const)("refuses %s with the service's error", (_name, data, message) => {
    expect(() => startedGeneration(started(data as Partial<PipelineStarted>), 'sales', settings, errors, log)).toThrow(
      message,
    );
  });

  it('bounds the run date by the clock: tomorrow and the earliest date pass, the day after and the day before do not', () => {
    const now = new Date('2026-03-10T23:59:59Z');
    const run = (runDate: string, runDates?: { earliest: string; allowFuture: boolean }) =>
      startedGeneration(started({ runDate }), 'sales', { ...settings, runDates }, errors, log, now);
    expect(run('2026-03-11')).toBeDefined();
    expect(run('2020-01-01')).toBeDefined();
    expect(() => run('2026-03-12')).toThrow(
      'out of range 2026-03-12: run date 2026-03-12 is after tomorrow (2026-03-11, UTC)',
    );
    expect(() => run('9999-12-31')).toThrow('out of range 9999-12-31');
    expect(() => run('2019-12-31')).toThrow('is before the earliest run date 2020-01-01');
    expect(run('9999-12-31', { earliest: '2020-01-01', allowFuture: true })).toBeDefined();
    expect(() => run('2026-02-28', { earliest: '2026-03-01', allowFuture: true })).toThrow(
      'earliest run date 2026-03-01',
    );
  });
});
