import { describe, expect, it } from 'vitest';
import {
  createLogger,
  TransformError,
  TransformErrors,
  type BronzeLanded,
  type BronzeSource,
  type TransformRunRequest,
  type TransformRunResult,
  type TransformRunner,
} from '@mlops/kernel';
import { InMemoryDocumentStore, RecordingPublisher, deliver, testEvent } from '@mlops/testing';
import { LEDGER_COLLECTION, createTransformerService } from '../src/index.js';

/** A runner that records its runs and answers what the test says. */
class FakeRunner implements TransformRunner {
  readonly engine = 'duckdb' as const;
  readonly runs: string[][] = [];
  failing: string[] = [];
  next: (() => never) | undefined;
  /** How many more runs fail as `next` says. */
  failures = 1;

  async run(request: TransformRunRequest): Promise<TransformRunResult> {
    this.runs.push([...request.runDates]);
    const fail = this.next;
    if (fail) {
      this.failures -= 1;
      if (this.failures <= 0) this.next = undefined;
      fail();
    }
    return {
      engine: 'duckdb',
      runDates: [...request.runDates],
      tables: [{ name: 'warehouse.fct_sales', rows: 10 * request.runDates.length }],
      quarantine: [{ table: 'staging.quarantine_sales', rows: 2 }],
      assertions: [
        {
          name: 'warehouse_fct_sales_assertions_uniqueKey_0',
          passed: !this.failing.includes('warehouse_fct_sales_assertions_uniqueKey_0'),
          failingRows: this.failing.length > 0 ? 4 : 0,
        },
        { name: 'warehouse_dim_customer_assertions_uniqueKey_0', passed: true, failingRows: 0 },
      ],
      actions: [],
      durationMs: 1234.5,
      compilation: { cached: true, durationMs: 1 },
    };
  }
}

let sequence = 0;
function landed(
  runDate: string,
  source: BronzeSource,
  options: { hash?: string; loadType?: BronzeLanded['loadType']; backfill?: { from: string; to: string } } = {},
) {
  const format = source === 'sales' ? 'parquet' : 'jsonl';
  const hash =
    options.hash ??
    `${source}${runDate}`
      .replace(/[^0-9a-f]/g, 'a')
      .padEnd(64, '0')
      .slice(0, 64);
  const data: BronzeLanded = {
    runDate,
    source,
    format,
    prefix: `bronze/${source}/dt=${runDate}/`,
    objects: [{ key: `bronze/${source}/dt=${runDate}/part-00000.${format}`, bytes: 100, sha256: hash, rows: 10 }],
    rowCount: 10,
    bytes: 100,
    contentHash: hash,
    loadType: options.loadType ?? (source === 'startups' ? 'full' : 'daily'),
    ...(options.backfill ? { backfill: options.backfill } : {}),
  };
  sequence += 1;
  return testEvent('mlops.bronze.landed.v1', data, runDate, {
    id: `landed-${runDate}-${source}-${hash.slice(0, 6)}-${sequence}`,
  });
}

function setup(options: { maxDatesPerRun?: number } = {}) {
  const documents = new InMemoryDocumentStore();
  const runner = new FakeRunner();
  const service = createTransformerService({ documents, runner, ...options });
  const publisher = new RecordingPublisher();
  return {
    documents,
    runner,
    service,
    publisher,
    send: (event: ReturnType<typeof landed>) => deliver(service, event, { publisher }),
  };
}

describe('transformer service', () => {
  it('waits until a date is complete (startups too on the full-load date), then builds it once', async () => {
    const { runner, publisher, send } = setup();
    await send(landed('2026-01-06', 'sales'));
    await send(landed('2026-01-06', 'clickstream'));
    expect(runner.runs).toEqual([]);
    await send(landed('2026-01-06', 'startups'));
    expect(runner.runs).toEqual([['2026-01-06']]);
    const [ready] = publisher.ofType('mlops.warehouse.ready.v1');
    expect(ready!.rundate).toBe('2026-01-06');
    expect(ready!.subject).toBe('warehouse/2026-01-06..2026-01-06');
    expect(ready!.data).toEqual({
      runDates: ['2026-01-06'],
      tables: [{ name: 'warehouse.fct_sales', rows: 10 }],
      quarantine: [{ table: 'staging.quarantine_sales', rows: 2 }],
      assertions: [
        { name: 'warehouse_fct_sales_assertions_uniqueKey_0', passed: true, failingRows: 0 },
        { name: 'warehouse_dim_customer_assertions_uniqueKey_0', passed: true, failingRows: 0 },
      ],
      engine: 'duckdb',
      durationMs: 1235,
    });
    expect(publisher.events).toHaveLength(1);
  });

  it('after the full load, wants startups again only on Fridays', async () => {
    const { runner, send } = setup();
    for (const source of ['sales', 'clickstream', 'startups'] as const) await send(landed('2026-01-06', source));
    await send(landed('2026-01-07', 'sales'));
    await send(landed('2026-01-07', 'clickstream'));
    expect(runner.runs.at(-1)).toEqual(['2026-01-07']);
    await send(landed('2026-01-09', 'sales'));
    await send(landed('2026-01-09', 'clickstream'));
    expect(runner.runs).toHaveLength(2);
    await send(landed('2026-01-09', 'startups', { loadType: 'delta' }));
    expect(runner.runs.at(-1)).toEqual(['2026-01-09']);
  });

  it('builds a backfill window once it has landed, in one run with one event, retrying a busy warehouse', async () => {
    const { runner, publisher, send, service } = setup();
    const backfill = { from: '2026-01-05', to: '2026-01-07' };
    await send(landed('2026-01-05', 'startups', { backfill }));
    for (const date of ['2026-01-05', '2026-01-06', '2026-01-07']) await send(landed(date, 'sales', { backfill }));
    // Two dates complete while the window is still incomplete: they wait, nothing runs.
    await send(landed('2026-01-05', 'clickstream', { backfill }));
    await send(landed('2026-01-06', 'clickstream', { backfill }));
    expect(runner.runs).toEqual([]);
    // The last one completes the window, but another process holds the warehouse: a transient error.
    runner.next = () => {
      throw TransformErrors.warehouseBusy('Could not set lock on file');
    };
    const completing = landed('2026-01-07', 'clickstream', { backfill });
    await expect(send(completing)).rejects.toMatchObject({ code: 'DATAFORM.WAREHOUSE_BUSY', errorClass: 'transient' });
    expect(publisher.events).toEqual([]);
    // The bus redelivers it once the warehouse is free: the whole window goes in one run.
    await deliver(service, completing, { publisher, attempt: 2 });
    expect(runner.runs).toEqual([
      ['2026-01-05', '2026-01-06', '2026-01-07'],
      ['2026-01-05', '2026-01-06', '2026-01-07'],
    ]);
    const readies = publisher.ofType('mlops.warehouse.ready.v1');
    expect(readies).toHaveLength(1);
    expect(readies[0]!.data.runDates).toEqual(['2026-01-05', '2026-01-06', '2026-01-07']);
    expect(readies[0]!.data.backfill).toEqual(backfill);
    expect(readies[0]!.rundate).toBe('2026-01-07');
    // Another redelivery finds nothing left to build.
    await deliver(service, completing, { publisher, attempt: 3 });
    expect(runner.runs).toHaveLength(2);
    expect(publisher.ofType('mlops.warehouse.ready.v1')).toHaveLength(1);
  });

  it('builds a long backlog in consecutive runs of at most maxDatesPerRun, resuming after a transient error', async () => {
    const { runner, publisher, send, service } = setup({ maxDatesPerRun: 2 });
    const backfill = { from: '2026-01-05', to: '2026-01-09' };
    const dates = ['2026-01-05', '2026-01-06', '2026-01-07', '2026-01-08', '2026-01-09'];
    await send(landed('2026-01-05', 'startups', { backfill }));
    await send(landed('2026-01-09', 'startups', { backfill, loadType: 'delta' }));
    for (const date of dates) await send(landed(date, 'sales', { backfill }));
    // The window's first date is late: nothing can be built before it lands.
    for (const date of dates.slice(1, -1)) await send(landed(date, 'clickstream', { backfill }));
    expect(runner.runs).toEqual([]);
    // The second run finds the warehouse busy: the first run's dates stay built and announced.
    let calls = 0;
    const run = runner.run.bind(runner);
    runner.run = async (request) => {
      calls += 1;
      if (calls === 2) throw TransformErrors.warehouseBusy('Could not set lock on file');
      return run(request);
    };
    // It completes two full runs of the window (the last date still misses its clickstream).
    const late = landed('2026-01-05', 'clickstream', { backfill });
    await expect(send(late)).rejects.toMatchObject({ code: 'DATAFORM.WAREHOUSE_BUSY' });
    expect(publisher.ofType('mlops.warehouse.ready.v1').map((event) => event.data.runDates)).toEqual([
      ['2026-01-05', '2026-01-06'],
    ]);
    await deliver(service, late, { publisher, attempt: 2 });
    expect(runner.runs).toEqual([
      ['2026-01-05', '2026-01-06'],
      ['2026-01-07', '2026-01-08'],
    ]);
    await send(landed('2026-01-09', 'clickstream', { backfill }));
    expect(publisher.ofType('mlops.warehouse.ready.v1').map((event) => event.data.runDates)).toEqual([
      ['2026-01-05', '2026-01-06'],
      ['2026-01-07', '2026-01-08'],
      ['2026-01-09'],
    ]);
    expect(
      publisher.ofType('mlops.warehouse.ready.v1').every((event) => event.data.backfill?.to === '2026-01-09'),
    ).toBe(true);
  });

  it('refuses a maxDatesPerRun that is not a whole number of at least 1', () => {
    expect(() => setup({ maxDatesPerRun: 0 })).toThrow(/maxDatesPerRun/);
    expect(() => setup({ maxDatesPerRun: 2.5 })).toThrow(/maxDatesPerRun/);
  });

  it('does not let a stuck date of a backfill hold the rest back: the last date builds what is complete, the window closes when the stuck date lands', async () => {
    const { runner, publisher, service } = setup();
    const lines: string[] = [];
    const log = createLogger({ sink: (line) => lines.push(line) });
    const send = (event: ReturnType<typeof landed>) => deliver(service, event, { publisher, log });
    const backfill = { from: '2026-01-05', to: '2026-01-08' };
    await send(landed('2026-01-05', 'startups', { backfill }));
    // 2026-01-06 never gets its sales (say its generator failed); the others land in order.
    for (const date of ['2026-01-05', '2026-01-06', '2026-01-07', '2026-01-08'])
      await send(landed(date, 'clickstream', { backfill }));
    for (const date of ['2026-01-05', '2026-01-07']) await send(landed(date, 'sales', { backfill }));
    expect(runner.runs).toEqual([]);
    await send(landed('2026-01-08', 'sales', { backfill }));
    expect(runner.runs).toEqual([['2026-01-05', '2026-01-07', '2026-01-08']]);
    // The last date says which earlier date is late and what it lacks.
    expect(lines.filter((line) => line.includes('reached its last date'))).toEqual([
      expect.stringContaining('with 1 earlier date(s) incomplete: 2026-01-06 (sales)'),
    ]);
    // The stuck date is redriven later: it completes the window and is built alone.
    await send(landed('2026-01-06', 'sales', { backfill }));
    expect(runner.runs.at(-1)).toEqual(['2026-01-06']);
    const ready = publisher.ofType('mlops.warehouse.ready.v1').map((event) => event.data);
    expect(ready.map((event) => event.runDates)).toEqual([['2026-01-05', '2026-01-07', '2026-01-08'], ['2026-01-06']]);
    // Only the second run closes the window (the trainer trains once, on the whole window): the
    // first built its last date with 2026-01-06 incomplete; the second, a date built after it,
    // replaced the gold partitions of the later dates built before it.
    expect(ready.map((event) => event.closesBackfill)).toEqual([false, true]);
    expect(ready.map((event) => event.affectedDates)).toEqual([undefined, ['2026-01-07', '2026-01-08']]);
  });

  it('says a backfill run closes the window only once its last date is built', async () => {
    const { publisher, send } = setup({ maxDatesPerRun: 2 });
    const backfill = { from: '2026-01-05', to: '2026-01-08' };
    await send(landed('2026-01-05', 'startups', { backfill }));
    for (const date of ['2026-01-05', '2026-01-06', '2026-01-07', '2026-01-08']) {
      await send(landed(date, 'sales', { backfill }));
      await send(landed(date, 'clickstream', { backfill }));
    }
    const ready = publisher.ofType('mlops.warehouse.ready.v1').map((event) => event.data);
    expect(ready.map((event) => [event.runDates, event.closesBackfill, event.affectedDates])).toEqual([
      [['2026-01-05', '2026-01-06'], false, undefined],
      [['2026-01-07', '2026-01-08'], true, undefined],
    ]);
  });

  it('builds a backfill delivered out of order in at most two runs, whatever the order', async () => {
    const backfill = { from: '2026-01-05', to: '2026-01-09' };
    const dates = ['2026-01-05', '2026-01-06', '2026-01-07', '2026-01-08', '2026-01-09'];
    const events = [
      landed('2026-01-05', 'startups', { backfill }),
      landed('2026-01-09', 'startups', { backfill, loadType: 'delta' }),
    ];
    for (const date of dates)
      events.push(landed(date, 'sales', { backfill }), landed(date, 'clickstream', { backfill }));
    for (const seed of [1, 2, 3, 4, 5]) {
      // A deterministic shuffle per seed.
      let state = seed;
      const order = [...events].sort(() => ((state = (state * 48271) % 2147483647) % 3) - 1);
      const { runner, publisher, send } = setup();
      for (const event of order) await send(event);
      expect(runner.runs.length).toBeLessThanOrEqual(2);
      expect(runner.runs.flat().sort()).toEqual(dates);
      expect(
        publisher
          .ofType('mlops.warehouse.ready.v1')
          .flatMap((event) => event.data.runDates)
          .sort(),
      ).toEqual(dates);
    }
  });

  it('does nothing on a redelivered event, and rebuilds a date whose partition was re-landed with other content', async () => {
    const { runner, publisher, send, service } = setup();
    const events = (['sales', 'clickstream', 'startups'] as const).map((source) => landed('2026-01-06', source));
    for (const event of events) await send(event);
    await deliver(service, events[1]!, { publisher, attempt: 2 });
    expect(runner.runs).toEqual([['2026-01-06']]);
    expect(publisher.ofType('mlops.warehouse.ready.v1')).toHaveLength(1);
    await send(landed('2026-01-06', 'clickstream', { hash: 'f'.repeat(64) }));
    expect(runner.runs).toEqual([['2026-01-06'], ['2026-01-06']]);
  });

  it('closes a date landed again exactly as it was built with stage.skipped, building nothing', async () => {
    const { runner, publisher, send } = setup();
    for (const source of ['sales', 'clickstream', 'startups'] as const) await send(landed('2026-01-06', source));
    // A re-run of the date: its generators land the same partitions again, under a new run.
    const again = landed('2026-01-06', 'sales');
    await send(again);
    expect(runner.runs).toEqual([['2026-01-06']]);
    const [skipped] = publisher.ofType('mlops.stage.skipped.v1');
    expect(skipped).toMatchObject({
      runid: again.runid,
      rundate: '2026-01-06',
      causationid: again.id,
      data: {
        stage: 'transformer',
        code: 'TRANSFORMER.ALREADY_BUILT',
        reason: '2026-01-06 was already built from these partitions',
        runDates: ['2026-01-06'],
        causeEventId: again.id,
      },
    });
    // A partition of a date still incomplete is not "already built": it waits, and says nothing.
    await send(landed('2026-01-07', 'sales'));
    expect(publisher.ofType('mlops.stage.skipped.v1')).toHaveLength(1);
  });

  it('closes the dates of a backfill window that were already built, and builds the others once they land', async () => {
    const { runner, publisher, send } = setup();
    const first = { from: '2026-01-05', to: '2026-01-06' };
    await send(landed('2026-01-05', 'startups', { backfill: first }));
    for (const date of ['2026-01-05', '2026-01-06'])
      for (const source of ['sales', 'clickstream'] as const) await send(landed(date, source, { backfill: first }));
    expect(runner.runs).toEqual([['2026-01-05', '2026-01-06']]);
    // A second backfill over 01-05..01-08 lands 01-05 and 01-06 again, unchanged.
    const window = { from: '2026-01-05', to: '2026-01-08' };
    for (const date of ['2026-01-05', '2026-01-06', '2026-01-07', '2026-01-08'])
      for (const source of ['sales', 'clickstream'] as const) await send(landed(date, source, { backfill: window }));
    expect(runner.runs).toEqual([
      ['2026-01-05', '2026-01-06'],
      ['2026-01-07', '2026-01-08'],
    ]);
    const skipped = publisher.ofType('mlops.stage.skipped.v1').map((event) => event.data.runDates[0]);
    expect([...new Set(skipped)]).toEqual(['2026-01-05', '2026-01-06']);
    expect(publisher.ofType('mlops.warehouse.ready.v1').map((event) => event.data.runDates)).toEqual([
      ['2026-01-05', '2026-01-06'],
      ['2026-01-07', '2026-01-08'],
    ]);
  });

  it('publishes stage.failed instead of warehouse.ready when an assertion fails, and does not retry the same inputs', async () => {
    const { runner, publisher, send, documents } = setup();
    runner.failing = ['warehouse_fct_sales_assertions_uniqueKey_0'];
    const events = (['sales', 'clickstream', 'startups'] as const).map((source) => landed('2026-01-06', source));
    for (const event of events) await send(event);
    expect(publisher.ofType('mlops.warehouse.ready.v1')).toEqual([]);
    const [failed] = publisher.ofType('mlops.stage.failed.v1');
    expect(failed!.data).toMatchObject({
      stage: 'transformer',
      code: 'TRANSFORMER.ASSERTION_FAILED',
      runDates: ['2026-01-06'],
      causeEventId: events[2]!.id,
      details: {
        engine: 'duckdb',
        assertions: [{ name: 'warehouse_fct_sales_assertions_uniqueKey_0', failingRows: 4 }],
      },
    });
    expect(failed!.data.reason).toMatch(/warehouse_fct_sales_assertions_uniqueKey_0 \(4 row\(s\)\)/);
    expect((await documents.get(LEDGER_COLLECTION, 'built_2026-01-06'))?.data.status).toBe('failed');
    // Landed again unchanged: not rebuilt, and the date's stage closes as failed again.
    const again = landed('2026-01-06', 'sales');
    await send(again);
    expect(runner.runs).toHaveLength(1);
    expect(publisher.ofType('mlops.stage.failed.v1').at(-1)).toMatchObject({
      causationid: again.id,
      data: { stage: 'transformer', code: 'TRANSFORMER.ASSERTION_FAILED', runDates: ['2026-01-06'] },
    });
    expect(publisher.ofType('mlops.stage.failed.v1')).toHaveLength(2);
  });

  it('lets a permanent runner error dead-letter the event with stage.failed carrying its code', async () => {
    const { runner, publisher, send } = setup();
    runner.next = () => {
      throw TransformErrors.actionFailed(
        'warehouse.fct_sales',
        'definitions/warehouse/fct_sales.sqlx',
        'Binder Error',
        'select 1',
      );
    };
    await send(landed('2026-01-06', 'sales'));
    await send(landed('2026-01-06', 'startups'));
    const error = await send(landed('2026-01-06', 'clickstream')).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TransformError);
    const [failed] = publisher.ofType('mlops.stage.failed.v1');
    expect(failed!.data).toMatchObject({ stage: 'transformer', code: 'DATAFORM.ACTION_FAILED' });
    expect(publisher.ofType('mlops.warehouse.ready.v1')).toEqual([]);
  });
});
