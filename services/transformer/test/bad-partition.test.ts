import { describe, expect, it } from 'vitest';
import {
  TransformError,
  TransformErrors,
  decodeMessage,
  type BronzeLanded,
  type BronzeSource,
  type TransformRunRequest,
  type TransformRunResult,
  type TransformRunner,
} from '@mlops/kernel';
import { InMemoryDocumentStore, InMemoryObjectStore, RecordingPublisher, deliver, testEvent } from '@mlops/testing';
import { LEDGER_COLLECTION, createTransformerService } from '../src/index.js';

const key = (source: BronzeSource, runDate: string) =>
  `bronze/${source}/dt=${runDate}/part-00000.${source === 'sales' ? 'parquet' : 'jsonl'}`;

/** A runner that cannot read the partitions of the dates in `unreadable`, as DuckDB words it. */
class PickyRunner implements TransformRunner {
  readonly engine = 'duckdb' as const;
  readonly runs: string[][] = [];
  readonly unreadable = new Set<string>();

  async run(request: TransformRunRequest): Promise<TransformRunResult> {
    this.runs.push([...request.runDates]);
    const bad = request.runDates.find((date) => this.unreadable.has(date));
    if (bad)
      throw TransformErrors.actionFailed(
        'bronze.sales',
        'definitions/sources/bronze.js',
        `Invalid Input Error: No magic bytes found at end of file '/lake/${key('sales', bad)}'`,
        'describe select * from read_parquet(...)',
      );
    return {
      engine: 'duckdb',
      runDates: [...request.runDates],
      tables: [{ name: 'warehouse.fct_sales', rows: 10 * request.runDates.length }],
      quarantine: [],
      assertions: [],
      actions: [],
      durationMs: 10,
      compilation: { cached: true, durationMs: 1 },
    };
  }
}

let sequence = 0;
const BYTES = 100;
function landed(runDate: string, source: BronzeSource, backfill?: { from: string; to: string }) {
  const hash = `${source}${runDate}`
    .replace(/[^0-9a-f]/g, 'a')
    .padEnd(64, '0')
    .slice(0, 64);
  const data: BronzeLanded = {
    runDate,
    source,
    format: source === 'sales' ? 'parquet' : 'jsonl',
    prefix: `bronze/${source}/dt=${runDate}/`,
    objects: [{ key: key(source, runDate), bytes: BYTES, sha256: hash, rows: 10 }],
    rowCount: 10,
    bytes: BYTES,
    contentHash: hash,
    loadType: source === 'startups' ? 'full' : 'daily',
    ...(backfill ? { backfill } : {}),
  };
  sequence += 1;
  return testEvent('mlops.bronze.landed.v1', data, runDate, { id: `landed-${runDate}-${source}-${sequence}` });
}

/** The events of a date (startups on the full-load date 2026-01-05 and on Friday 2026-01-09). */
function day(runDate: string, backfill?: { from: string; to: string }) {
  const sources: BronzeSource[] = ['sales', 'clickstream'];
  if (runDate === '2026-01-05' || runDate === '2026-01-09') sources.push('startups');
  return sources.map((source) => landed(runDate, source, backfill));
}

function setup(options: { lake?: boolean } = {}) {
  const documents = new InMemoryDocumentStore();
  const runner = new PickyRunner();
  const objects = new InMemoryObjectStore();
  const publisher = new RecordingPublisher();
  const service = createTransformerService({
    documents,
    runner,
    deadLetters: publisher,
    ...(options.lake ? { objects } : {}),
  });
  return {
    documents,
    runner,
    objects,
    publisher,
    /** Put the files an event says landed, of their landed size. */
    write: async (event: ReturnType<typeof landed>) => {
      for (const object of event.data.objects) await objects.put(object.key, 'x'.repeat(object.bytes));
    },
    send: (event: ReturnType<typeof landed>) => deliver(service, event, { publisher }),
    built: async (runDate: string) => (await documents.get(LEDGER_COLLECTION, `built_${runDate}`))?.data,
    ready: () => publisher.ofType('mlops.warehouse.ready.v1').map((event) => event.data.runDates),
    failed: () => publisher.ofType('mlops.stage.failed.v1').map((event) => event.data),
  };
}

const WINDOW = { from: '2026-01-05', to: '2026-01-08' };
const WINDOW_DATES = ['2026-01-05', '2026-01-06', '2026-01-07', '2026-01-08'];

describe('a bad bronze partition fails its date alone', () => {
  it('isolates an unreadable date of a backfill window, builds the others and later dates, and rebuilds it on a replay after the fix', async () => {
    const { runner, send, built, ready, failed } = setup();
    runner.unreadable.add('2026-01-06');
    const events = WINDOW_DATES.flatMap((date) => day(date, WINDOW));
    for (const event of events) await send(event);

    // The window's run failed, then its halves, down to the bad date alone.
    expect(runner.runs).toEqual([
      WINDOW_DATES,
      ['2026-01-05', '2026-01-06'],
      ['2026-01-05'],
      ['2026-01-06'],
      ['2026-01-07', '2026-01-08'],
    ]);
    expect(ready()).toEqual([['2026-01-05'], ['2026-01-07', '2026-01-08']]);
    expect(failed()).toEqual([
      {
        stage: 'transformer',
        code: 'DATAFORM.ACTION_FAILED',
        reason: expect.stringContaining(`No magic bytes found at end of file '/lake/${key('sales', '2026-01-06')}'`),
        runDates: ['2026-01-06'],
        causeEventId: events.at(-1)!.id,
        details: { files: [key('sales', '2026-01-06')] },
      },
    ]);
    expect(await built('2026-01-06')).toMatchObject({
      status: 'broken',
      code: 'DATAFORM.ACTION_FAILED',
      files: [key('sales', '2026-01-06')],
      causeEventId: events.at(-1)!.id,
    });

    // The next date builds alone: the broken date is not bundled in.
    for (const event of day('2026-01-09')) await send(event);
    expect(runner.runs.at(-1)).toEqual(['2026-01-09']);
    expect(ready().at(-1)).toEqual(['2026-01-09']);

    // Fixed, then a replay of the date's landed event builds it.
    runner.unreadable.clear();
    await send(landed('2026-01-06', 'sales', WINDOW));
    expect(runner.runs.at(-1)).toEqual(['2026-01-06']);
    expect(ready().at(-1)).toEqual(['2026-01-06']);
    expect(await built('2026-01-06')).toMatchObject({ status: 'ready' });
    expect(failed()).toHaveLength(1);
  });

  it('dead-letters a copy of the event that found another date of its window unreadable, and its redrive after the fix builds that date', async () => {
    const { runner, publisher, send, built, ready, failed } = setup();
    runner.unreadable.add('2026-01-07');
    const events = WINDOW_DATES.flatMap((date) => day(date, WINDOW));
    for (const event of events) await send(event);
    const finder = events.at(-1)!;
    expect(finder.data.runDate).toBe('2026-01-08');
    expect(failed().map((data) => data.runDates)).toEqual([['2026-01-07']]);
    expect(await built('2026-01-08')).toMatchObject({ status: 'ready' });

    // The finder was handled (its date built) and a copy of it waits in the dead letters.
    expect(publisher.deadLetters).toHaveLength(1);
    const [letter] = publisher.deadLetters;
    expect(letter!.info).toEqual({
      subscription: 'transformer.test',
      topic: 'bronze-landed',
      code: 'DATAFORM.ACTION_FAILED',
      reason: expect.stringMatching(
        new RegExp(
          `^2026-01-07 not built while building 2026-01-08 \\(${key('sales', '2026-01-07')}\\): .*No magic bytes`,
        ),
      ),
      attempts: 1,
    });
    const redriven = decodeMessage(letter!.message);
    expect(redriven).toMatchObject({ id: finder.id, type: 'mlops.bronze.landed.v1', data: finder.data });

    // Redriven while the file is still bad: recorded, announced and dead-lettered again.
    await send(redriven as typeof finder);
    expect(runner.runs.at(-1)).toEqual(['2026-01-07']);
    expect(failed().map((data) => data.runDates)).toEqual([['2026-01-07'], ['2026-01-07']]);
    expect(publisher.deadLetters).toHaveLength(2);

    // Fixed: the redrive builds the date; the finder's own date is announced as already built.
    runner.unreadable.clear();
    await send(decodeMessage(publisher.deadLetters[1]!.message) as typeof finder);
    expect(runner.runs.at(-1)).toEqual(['2026-01-07']);
    expect(ready().at(-1)).toEqual(['2026-01-07']);
    expect(await built('2026-01-07')).toMatchObject({ status: 'ready' });
    expect(publisher.deadLetters).toHaveLength(2);
    expect(publisher.ofType('mlops.stage.skipped.v1').at(-1)!.data).toMatchObject({
      code: 'TRANSFORMER.ALREADY_BUILT',
      runDates: ['2026-01-08'],
    });
  });

  it('dead-letters the handled event when its own date is unreadable; later dates build, and a redrive after the fix builds it', async () => {
    const { runner, publisher, send, built, ready, failed } = setup();
    runner.unreadable.add('2026-01-06');
    for (const event of day('2026-01-05')) await send(event);
    const [sales, clickstream] = day('2026-01-06');
    await send(sales!);
    const error = await send(clickstream!).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TransformError);
    expect(failed()).toEqual([
      expect.objectContaining({
        stage: 'transformer',
        code: 'DATAFORM.ACTION_FAILED',
        runDates: ['2026-01-06'],
        reason: expect.stringContaining(key('sales', '2026-01-06')),
      }),
    ]);
    expect(await built('2026-01-06')).toMatchObject({ status: 'broken', causeEventId: clickstream!.id });
    // The event itself is the dead letter (the transport's); no copy of it is added.
    expect(publisher.deadLetters).toEqual([]);

    for (const event of day('2026-01-07')) await send(event);
    for (const event of day('2026-01-08')) await send(event);
    expect(runner.runs.slice(-2)).toEqual([['2026-01-07'], ['2026-01-08']]);
    expect(failed()).toHaveLength(1);

    // The same dead letter redriven once the file is fixed.
    runner.unreadable.clear();
    await send(clickstream!);
    expect(runner.runs.at(-1)).toEqual(['2026-01-06']);
    expect(ready()).toEqual([['2026-01-05'], ['2026-01-07'], ['2026-01-08'], ['2026-01-06']]);
    expect(await built('2026-01-06')).toMatchObject({ status: 'ready' });
  });

  it('keeps retrying a date that is still unreadable on each of its own events, never bundling it with later dates', async () => {
    const { runner, send, failed } = setup();
    runner.unreadable.add('2026-01-06');
    for (const event of day('2026-01-05')) await send(event);
    const events = day('2026-01-06');
    for (const event of events) await send(event).catch(() => undefined);
    await send(events[1]!).catch(() => undefined);
    expect(runner.runs.filter((run) => run.includes('2026-01-06'))).toEqual([['2026-01-06'], ['2026-01-06']]);
    expect(failed().map((data) => data.runDates)).toEqual([['2026-01-06'], ['2026-01-06']]);
    for (const event of day('2026-01-07')) await send(event);
    expect(runner.runs.at(-1)).toEqual(['2026-01-07']);
  });

  it('catches a missing and a truncated file before any run, naming each, and builds the rest in one run', async () => {
    const { runner, objects, send, write, built, ready, failed } = setup({ lake: true });
    const events = WINDOW_DATES.flatMap((date) => day(date, WINDOW));
    for (const event of events) await write(event);
    await objects.delete([key('clickstream', '2026-01-06')]);
    await objects.put(key('sales', '2026-01-07'), 'x'.repeat(BYTES / 2));
    for (const event of events) await send(event);

    expect(runner.runs).toEqual([['2026-01-05', '2026-01-08']]);
    expect(ready()).toEqual([['2026-01-05', '2026-01-08']]);
    expect(failed()).toEqual([
      {
        stage: 'transformer',
        code: 'TRANSFORMER.BAD_PARTITION',
        reason: `2026-01-06 is not built: ${key('clickstream', '2026-01-06')} is missing from the lake (landed with 100 bytes); restore the file, then redrive the dead letter or replay bronze-landed`,
        runDates: ['2026-01-06'],
        causeEventId: events.at(-1)!.id,
        details: { files: [key('clickstream', '2026-01-06')] },
      },
      expect.objectContaining({
        code: 'TRANSFORMER.BAD_PARTITION',
        reason: expect.stringContaining(
          `${key('sales', '2026-01-07')} is 50 bytes in the lake, 100 when it landed (truncated or rewritten)`,
        ),
        runDates: ['2026-01-07'],
      }),
    ]);
    expect(await built('2026-01-07')).toMatchObject({ status: 'broken', code: 'TRANSFORMER.BAD_PARTITION' });

    // Restored: a replay of each date's event builds it.
    await objects.put(key('clickstream', '2026-01-06'), 'x'.repeat(BYTES));
    await objects.put(key('sales', '2026-01-07'), 'x'.repeat(BYTES));
    await send(landed('2026-01-06', 'clickstream', WINDOW));
    await send(landed('2026-01-07', 'sales', WINDOW));
    expect(runner.runs.slice(1)).toEqual([['2026-01-06'], ['2026-01-07']]);
    expect(await built('2026-01-06')).toMatchObject({ status: 'ready' });
    expect(await built('2026-01-07')).toMatchObject({ status: 'ready' });
  });

  it("dead-letters its own date's event with TRANSFORMER.BAD_PARTITION when its file is missing", async () => {
    const { runner, objects, send, write, failed } = setup({ lake: true });
    const events = day('2026-01-05');
    for (const event of events) await write(event);
    await objects.delete([key('sales', '2026-01-05')]);
    for (const event of events.slice(0, -1)) await send(event);
    await expect(send(events.at(-1)!)).rejects.toMatchObject({ code: 'TRANSFORMER.BAD_PARTITION' });
    expect(runner.runs).toEqual([]);
    expect(failed()).toEqual([
      expect.objectContaining({ code: 'TRANSFORMER.BAD_PARTITION', runDates: ['2026-01-05'] }),
    ]);
  });
});
