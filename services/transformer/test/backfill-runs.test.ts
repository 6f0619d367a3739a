import { describe, expect, it } from 'vitest';
import {
  TransformErrors,
  type BronzeLanded,
  type BronzeSource,
  type TransformRunRequest,
  type TransformRunResult,
  type TransformRunner,
} from '@mlops/kernel';
import { InMemoryDocumentStore, RecordingPublisher, deliver, testEvent } from '@mlops/testing';
import { createTransformerService } from '../src/index.js';

/** A runner that records its runs; while `gate` is set, runs wait for it. */
class RecordingRunner implements TransformRunner {
  readonly engine = 'duckdb' as const;
  readonly runs: string[][] = [];
  /** Each run's landed rows, as the handler hints them to the engine. */
  readonly landedRows: (number | undefined)[] = [];
  running = 0;
  mostRunning = 0;
  gate: Promise<void> | undefined;

  async run(request: TransformRunRequest): Promise<TransformRunResult> {
    this.running += 1;
    this.mostRunning = Math.max(this.mostRunning, this.running);
    this.runs.push([...request.runDates]);
    this.landedRows.push(request.landedRows);
    await this.gate;
    this.running -= 1;
    return {
      engine: 'duckdb',
      runDates: [...request.runDates],
      tables: [{ name: 'warehouse.fct_sales', rows: 10 * request.runDates.length }],
      quarantine: [],
      assertions: [{ name: 'warehouse_fct_sales_assertions_uniqueKey_0', passed: true, failingRows: 0 }],
      actions: [],
      durationMs: 100,
      compilation: { cached: true, durationMs: 1 },
    };
  }
}

// 2026-01-09 is a Friday: startups land on the full-load date and on Fridays.
const WINDOW = { from: '2026-01-05', to: '2026-01-11' };
const DATES = ['2026-01-05', '2026-01-06', '2026-01-07', '2026-01-08', '2026-01-09', '2026-01-10', '2026-01-11'];

function landed(runDate: string, source: BronzeSource, rowCount = 10) {
  const hash = `${source}${runDate}`.replace(/[^0-9a-f]/g, 'a').padEnd(64, '0');
  const data: BronzeLanded = {
    runDate,
    source,
    format: 'jsonl',
    prefix: `bronze/${source}/dt=${runDate}/`,
    objects: [{ key: `bronze/${source}/dt=${runDate}/part-00000.jsonl`, bytes: 100, sha256: hash, rows: 10 }],
    rowCount,
    bytes: 100,
    contentHash: hash,
    loadType: source !== 'startups' ? 'daily' : runDate === WINDOW.from ? 'full' : 'delta',
    backfill: WINDOW,
  };
  return testEvent('mlops.bronze.landed.v1', data, runDate, { id: `landed-${runDate}-${source}` });
}

/** The window's partitions in the lander's order: date by date. */
function inLanderOrder() {
  return DATES.flatMap((date) => [
    landed(date, 'sales'),
    landed(date, 'clickstream'),
    ...(date === '2026-01-05' || date === '2026-01-09' ? [landed(date, 'startups')] : []),
  ]);
}

function setup(maxDatesPerRun: number, maxRowsPerRun?: number) {
  const runner = new RecordingRunner();
  const service = createTransformerService({
    documents: new InMemoryDocumentStore(),
    runner,
    maxDatesPerRun,
    ...(maxRowsPerRun === undefined ? {} : { maxRowsPerRun }),
  });
  const publisher = new RecordingPublisher();
  const send = (event: ReturnType<typeof landed>, attempt = 1) => deliver(service, event, { publisher, attempt });
  /** What the runs announced, without the ids and times of the events. */
  const announced = () =>
    publisher.events.map((event) => ({ type: event.type, subject: event.subject, data: event.data }));
  return { runner, service, publisher, send, announced };
}

/**
 * The window built at once: the warehouse is busy (a transient error, redelivered) until the window
 * has landed, so every run starts after the last partition.
 */
async function allAtOnce(maxDatesPerRun: number) {
  const { runner, send, announced } = setup(maxDatesPerRun);
  const run = runner.run.bind(runner);
  runner.run = async () => {
    throw TransformErrors.warehouseBusy('Could not set lock on file');
  };
  const events = inLanderOrder();
  for (const event of events)
    await send(event).then(
      () => undefined,
      (error: unknown) => expect(error).toMatchObject({ code: 'DATAFORM.WAREHOUSE_BUSY' }),
    );
  expect(runner.runs).toEqual([]);
  runner.run = run;
  await send(events.at(-1)!, 2);
  return { runs: runner.runs, events: announced() };
}

describe('a backfill window built while it lands', () => {
  it('builds each full run as soon as its dates have landed, with the runs and events of the all-at-once build', async () => {
    const { runner, send, announced, publisher } = setup(3);
    const runsWhenComplete: Record<string, number> = {};
    for (const event of inLanderOrder()) {
      await send(event);
      runsWhenComplete[event.data.runDate] = runner.runs.length;
    }
    // 01-07 completes the first run and 01-10 the second, while later dates are still to land; the
    // last, shorter run waits for the window's last date.
    expect(runsWhenComplete).toEqual({
      '2026-01-05': 0,
      '2026-01-06': 0,
      '2026-01-07': 1,
      '2026-01-08': 1,
      '2026-01-09': 1,
      '2026-01-10': 2,
      '2026-01-11': 3,
    });
    const expected = await allAtOnce(3);
    expect(runner.runs).toEqual(expected.runs);
    expect(runner.runs).toEqual([DATES.slice(0, 3), DATES.slice(3, 6), DATES.slice(6)]);
    expect(announced()).toEqual(expected.events);
    // One warehouse.ready per run, every one naming the window; only the last holds its last date
    // (what the trainer waits for), and it comes last.
    const readies = publisher.ofType('mlops.warehouse.ready.v1');
    expect(readies).toHaveLength(3);
    expect(readies.every((event) => event.data.backfill?.to === WINDOW.to)).toBe(true);
    expect(readies.map((event) => event.data.runDates.includes(WINDOW.to))).toEqual([false, false, true]);
  });

  it('builds a date that lands late (after later dates) in order: the runs wait for it, then go together', async () => {
    const { runner, send, announced } = setup(3);
    const events = inLanderOrder();
    const late = events.find((event) => event.data.runDate === '2026-01-06' && event.data.source === 'sales')!;
    const beforeLast = events.filter((event) => event !== late && event.data.runDate !== WINDOW.to);
    for (const event of beforeLast) await send(event);
    // 01-07..01-10 have landed, but 01-06 misses its sales: nothing is built out of order.
    expect(runner.runs).toEqual([]);
    await send(late);
    expect(runner.runs).toEqual([DATES.slice(0, 3), DATES.slice(3, 6)]);
    for (const event of events.filter((event) => event.data.runDate === WINDOW.to)) await send(event);
    const expected = await allAtOnce(3);
    expect(runner.runs).toEqual(expected.runs);
    expect(announced()).toEqual(expected.events);
  });

  it('does not build a run again on duplicate or reordered events', async () => {
    const { runner, send, publisher } = setup(3);
    const events = inLanderOrder();
    // Every partition delivered twice in a row, then all of them again in reverse order.
    for (const event of events) {
      await send(event);
      await send(event, 2);
    }
    for (const event of [...events].reverse()) await send(event, 3);
    expect(runner.runs).toEqual([DATES.slice(0, 3), DATES.slice(3, 6), DATES.slice(6)]);
    expect(publisher.ofType('mlops.warehouse.ready.v1')).toHaveLength(3);
    // The replays of partitions of built dates close their stage as already built.
    const skipped = publisher.ofType('mlops.stage.skipped.v1').map((event) => event.data.runDates[0]);
    expect(new Set(skipped)).toEqual(new Set(DATES));
    expect(publisher.ofType('mlops.stage.failed.v1')).toEqual([]);
  });

  it('does not start a second run of the same dates when the completing event is redelivered during the run', async () => {
    const { runner, send, publisher } = setup(3);
    const events = inLanderOrder();
    const completing = events.findIndex(
      (event) => event.data.runDate === '2026-01-07' && event.data.source === 'clickstream',
    );
    for (const event of events.slice(0, completing)) await send(event);
    let open!: () => void;
    runner.gate = new Promise((resolve) => (open = resolve));
    const first = send(events[completing]!);
    const redelivered = send(events[completing]!, 2);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(runner.runs).toEqual([DATES.slice(0, 3)]);
    open();
    await Promise.all([first, redelivered]);
    expect(runner.runs).toEqual([DATES.slice(0, 3)]);
    expect(runner.mostRunning).toBe(1);
    expect(publisher.ofType('mlops.warehouse.ready.v1')).toHaveLength(1);
  });

  it('closes a run before the date that would take it past maxRowsPerRun, also while the window lands', async () => {
    // Every partition holds 10 rows (20 a date, 30 with startups), 01-08 holds 200 of sales.
    const big = (event: ReturnType<typeof landed>) =>
      event.data.runDate === '2026-01-08' && event.data.source === 'sales' ? landed('2026-01-08', 'sales', 200) : event;
    const { runner, send } = setup(60, 100);
    const runsWhenComplete: Record<string, number> = {};
    for (const event of inLanderOrder().map(big)) {
      await send(event);
      runsWhenComplete[event.data.runDate] = runner.runs.length;
    }
    // 01-05..01-07 (70 rows) close when 01-08 lands; 01-08 runs alone; then 01-09..01-11 (70 rows).
    expect(runner.runs).toEqual([DATES.slice(0, 3), ['2026-01-08'], DATES.slice(4)]);
    expect(runner.landedRows).toEqual([70, 210, 70]);
    expect(runsWhenComplete).toMatchObject({ '2026-01-07': 0, '2026-01-08': 1, '2026-01-09': 2, '2026-01-11': 3 });
    expect(() => setup(60, 0)).toThrow(/maxRowsPerRun/);
  });
});
