import { describe, expect, it } from 'vitest';
import { followUp, RunLedger, type AnyEvent, type RunSummary } from '@mlops/kernel';
import { InMemoryDocumentStore } from '@mlops/testing';
import {
  at,
  emitted,
  generatedAndLanded,
  landedData,
  predictionsData,
  readyData,
  started,
} from './fixtures/ledger-events.js';
import { startEvent } from '@mlops/testing/suites';

async function ledgerOf(events: readonly AnyEvent[]): Promise<RunLedger> {
  const ledger = new RunLedger(new InMemoryDocumentStore());
  for (const event of events) await ledger.record(event);
  return ledger;
}

const stageOf = (run: RunSummary | undefined, name: string) => run?.stages.find((stage) => stage.stage === name);
const byDate = (runs: RunSummary[], date: string) => runs.find((run) => run.runDate === date)!;

describe('run ledger', () => {
  it('derives stages and durations from a run’s events, and ignores redelivery', async () => {
    const ledger = new RunLedger(new InMemoryDocumentStore());
    const start = { ...startEvent('2026-03-01'), time: '2026-03-02T02:00:00.000Z' } as AnyEvent;
    const generated = followUp(
      start,
      'mlops.sales.generated.v1',
      { runDate: '2026-03-01', collection: 'sales', documentCount: 1000, dirtyCount: 10 },
      { source: '//mlops/sales-gen', time: new Date('2026-03-02T02:00:02Z') },
    ) as AnyEvent;
    const landed = followUp(
      generated,
      'mlops.bronze.landed.v1',
      {
        runDate: '2026-03-01',
        source: 'sales',
        format: 'parquet',
        prefix: 'bronze/sales/dt=2026-03-01/',
        objects: [],
        rowCount: 1000,
        bytes: 1,
        contentHash: 'a'.repeat(64),
        loadType: 'daily',
      },
      { source: '//mlops/lander', time: new Date('2026-03-02T02:00:03.500Z') },
    ) as AnyEvent;
    for (const event of [start, generated, landed, landed]) await ledger.record(event);
    const [run] = await ledger.runs();
    expect(run).toMatchObject({
      runId: start.runid,
      runDate: '2026-03-01',
      trigger: 'cli',
      status: 'running',
      events: 3,
    });
    const stage = (name: string) => run!.stages.find((s) => s.stage === name);
    // Without a handling start (another publisher), a stage runs from its input's arrival to its output.
    expect(stage('sales-gen')).toMatchObject({ status: 'succeeded', durationMs: 2000 });
    expect(stage('lander')).toMatchObject({ status: 'succeeded', durationMs: 1500, detail: '1000 rows' });
    expect(stage('transformer')).toMatchObject({ status: 'running' });
  });

  it('marks the run failed when a stage fails', async () => {
    const ledger = new RunLedger(new InMemoryDocumentStore());
    const start = startEvent('2026-03-03');
    const failed = followUp(
      start,
      'mlops.stage.failed.v1',
      { stage: 'sales-gen', code: 'SALES_GEN.BAD_SCALE', reason: 'scale must be above 0' },
      { source: '//mlops/sales-gen' },
    ) as AnyEvent;
    await ledger.record(start);
    await ledger.record(failed);
    const [run] = await ledger.runs();
    expect(run!.status).toBe('failed');
    expect(run!.stages.find((s) => s.stage === 'sales-gen')).toMatchObject({
      status: 'failed',
      detail: 'SALES_GEN.BAD_SCALE: scale must be above 0',
    });
  });

  it('closes the transformer stage of every run whose date a window build covers, under any run id', async () => {
    const window = { from: '2026-03-01', to: '2026-03-03' };
    const days = ['2026-03-01', '2026-03-02', '2026-03-03'].map((date, i) =>
      generatedAndLanded(date, i, { backfill: window, fullLoad: i === 0 }),
    );
    // The last partition of the window triggers one build of the three dates, under the last run's id.
    const ready = emitted(
      days[2]!.lastLanded,
      'transformer',
      'mlops.warehouse.ready.v1',
      readyData(window3()),
      [10, 40],
    );
    const trained = emitted(ready, 'trainer', 'mlops.model.trained.v1', modelTrained(), [41, 60]);
    const scored = window3().map((date) =>
      emitted(ready, 'trainer', 'mlops.predictions.ready.v1', predictionsData(date), [41, 61], {
        subject: `predictions/${date}`,
      }),
    );
    const runs = await (await ledgerOf([...days.flatMap((day) => day.events), ready, trained, ...scored])).runs();
    expect(runs.map((run) => [run.runDate, run.status])).toEqual([
      ['2026-03-03', 'succeeded'],
      ['2026-03-02', 'succeeded'],
      ['2026-03-01', 'succeeded'],
    ]);
    for (const run of runs) {
      expect(stageOf(run, 'transformer')).toMatchObject({ status: 'succeeded', durationMs: 30_000, queuedMs: 4_000 });
      expect(run.stagesClosed).toBe(run.stagesExpected);
    }
    // The trainer belongs to the run that carries the build, and closes once every date is scored.
    expect(stageOf(byDate(runs, '2026-03-03'), 'trainer')).toMatchObject({
      status: 'succeeded',
      durationMs: 20_000,
      detail: 'trained v-000000000001',
    });
    expect(stageOf(byDate(runs, '2026-03-01'), 'trainer')).toBeUndefined();
    const partial = await (await ledgerOf([...days.flatMap((day) => day.events), ready, trained, scored[0]!])).runs();
    expect(byDate(partial, '2026-03-03')).toMatchObject({ status: 'running' });
    expect(stageOf(byDate(partial, '2026-03-03'), 'trainer')!.status).toBe('running');
  });

  it('closes a declined training with its reason as a note: the date succeeded', async () => {
    const day = generatedAndLanded('2026-03-01', 0, { fullLoad: true });
    const ready = emitted(day.lastLanded, 'transformer', 'mlops.warehouse.ready.v1', readyData(['2026-03-01']), [5, 9]);
    const declined = emitted(
      ready,
      'trainer',
      'mlops.stage.skipped.v1',
      {
        stage: 'trainer',
        code: 'TRAINER.INSUFFICIENT_HISTORY',
        reason: 'no model yet: needs 32 days of history',
        runDates: ['2026-03-01'],
      },
      [10, 11.5],
    );
    const [run] = await (await ledgerOf([...day.events, ready, declined])).runs();
    expect(run).toMatchObject({ status: 'succeeded', stagesClosed: 6, stagesExpected: 6 });
    expect(stageOf(run, 'trainer')).toMatchObject({
      status: 'skipped',
      detail: 'no model yet: needs 32 days of history',
      durationMs: 1500,
    });
  });

  it('closes a skipped startup-gen, and a date already built (a re-run) with the transformer skipped', async () => {
    const first = generatedAndLanded('2026-03-04', 0);
    const ready = emitted(
      first.lastLanded,
      'transformer',
      'mlops.warehouse.ready.v1',
      readyData(['2026-03-04']),
      [5, 9],
    );
    const predicted = emitted(ready, 'trainer', 'mlops.predictions.ready.v1', predictionsData('2026-03-04'), [10, 12]);
    // The same date again, later: landed unchanged, so the transformer skips it.
    const again = generatedAndLanded('2026-03-04', 100);
    const skipped = emitted(
      again.lastLanded,
      'transformer',
      'mlops.stage.skipped.v1',
      {
        stage: 'transformer',
        code: 'TRANSFORMER.ALREADY_BUILT',
        reason: '2026-03-04 was already built from these partitions',
        runDates: ['2026-03-04'],
      },
      [105, 105.2],
    );
    const runs = await (await ledgerOf([...first.events, ready, predicted, ...again.events, skipped])).runs();
    expect(runs.map((run) => run.status)).toEqual(['succeeded', 'succeeded']);
    expect(stageOf(runs[1], 'startup-gen')).toMatchObject({ status: 'skipped', durationMs: 100 });
    // The earlier run keeps its build's timings; the later handling of its date shows apart.
    expect(stageOf(runs[1], 'transformer')).toMatchObject({
      status: 'succeeded',
      durationMs: 4000,
      latest: { handledAt: at(105).toISOString(), durationMs: 200 },
    });
    expect(stageOf(runs[0], 'transformer')).toMatchObject({
      status: 'skipped',
      detail: expect.stringMatching(/already built/),
    });
    expect(stageOf(runs[0], 'trainer')).toBeUndefined();
  });

  it('measures handling apart from the wait on the bus', async () => {
    const start = started('2026-03-05', 0);
    // Queued 20 s behind other runs, handled in 180 ms.
    const generated = emitted(
      start,
      'sales-gen',
      'mlops.sales.generated.v1',
      { runDate: '2026-03-05', collection: 'sales', documentCount: 1, dirtyCount: 0 },
      [20, 20.18],
    );
    const [run] = await (await ledgerOf([start, generated])).runs();
    expect(stageOf(run, 'sales-gen')).toMatchObject({
      durationMs: 180,
      queuedMs: 20_000,
      startedAt: at(0).toISOString(),
      finishedAt: at(20.18).toISOString(),
    });
  });

  it('keeps the first timings when a replay emits the same event again, and shows the latest apart', async () => {
    const start = started('2026-03-06', 0);
    const data = { runDate: '2026-03-06', collection: 'sales', documentCount: 1, dirtyCount: 0 };
    const first = emitted(start, 'sales-gen', 'mlops.sales.generated.v1', data, [1, 1.2]);
    const replayed = emitted(start, 'sales-gen', 'mlops.sales.generated.v1', data, [69, 69.5]);
    expect(replayed.id).toBe(first.id);
    const ledger = await ledgerOf([start, first, replayed, replayed]);
    const [run] = await ledger.runs();
    expect(stageOf(run, 'sales-gen')).toMatchObject({
      durationMs: 200,
      queuedMs: 1000,
      latest: { handledAt: at(69).toISOString(), durationMs: 500 },
    });
    // Recorded in the other order, the earlier emission is still the first.
    const reversed = await (await ledgerOf([start, replayed, first])).runs();
    expect(stageOf(reversed[0], 'sales-gen')).toMatchObject({ durationMs: 200, latest: { durationMs: 500 } });
  });

  it('blocks the stages a failure upstream keeps from running, in the run and across its backfill window', async () => {
    const window = { from: '2026-03-07', to: '2026-03-09' };
    const start = started('2026-03-07', 0, window);
    const failed = emitted(
      start,
      'sales-gen',
      'mlops.stage.failed.v1',
      { stage: 'sales-gen', code: 'SALES_GEN.BAD_SCALE', reason: 'scale must be above 0', runDates: ['2026-03-07'] },
      [1, 2],
    );
    const clicks = emitted(
      start,
      'click-gen',
      'mlops.bronze.landed.v1',
      landedData('2026-03-07', 'clickstream'),
      [1, 3],
      { subject: 'clickstream/2026-03-07' },
    );
    const startups = emitted(
      start,
      'startup-gen',
      'mlops.bronze.landed.v1',
      landedData('2026-03-07', 'startups'),
      [1, 3],
      { subject: 'startups/2026-03-07' },
    );
    const broken = [start, failed, clicks, startups];
    // The window's last date completes first: what is complete is built (itself); a date completing
    // after that waits for the rest of the window, which the broken date never completes.
    const last = generatedAndLanded('2026-03-09', 0.2, { backfill: window });
    const late = generatedAndLanded('2026-03-08', 0.1, { backfill: window });
    const built = emitted(
      last.lastLanded,
      'transformer',
      'mlops.warehouse.ready.v1',
      readyData(['2026-03-09']),
      [10, 20],
    );

    const before = await (await ledgerOf([...broken, ...late.events, ...last.events])).runs();
    const run = byDate(before, '2026-03-07');
    expect(run).toMatchObject({ status: 'failed' });
    expect(run.stagesClosed).toBe(run.stagesExpected);
    expect(stageOf(run, 'lander')).toMatchObject({ status: 'blocked' });
    expect(stageOf(run, 'transformer')).toMatchObject({ status: 'blocked', detail: 'not built: sales-gen failed' });
    // Until the last date is handled, the others may still be built with it: not blocked yet.
    expect(stageOf(byDate(before, '2026-03-08'), 'transformer')!.status).toBe('running');

    const after = await (await ledgerOf([...broken, ...late.events, ...last.events, built])).runs();
    expect(stageOf(byDate(after, '2026-03-09'), 'transformer')!.status).toBe('succeeded');
    const waiting = byDate(after, '2026-03-08');
    expect(stageOf(waiting, 'transformer')).toMatchObject({
      status: 'blocked',
      detail: 'not built: waits for 2026-03-07 of the backfill window 2026-03-07..2026-03-09, whose sales-gen failed',
    });
    expect(waiting).toMatchObject({ status: 'failed' });
    expect(waiting.stagesClosed).toBe(waiting.stagesExpected);
  });
});

function window3(): string[] {
  return ['2026-03-01', '2026-03-02', '2026-03-03'];
}

function modelTrained() {
  return {
    modelName: 'churn',
    version: 'v-000000000001',
    fingerprint: 'c'.repeat(64),
    dataRange: { from: '2026-03-01', to: '2026-03-03' },
    metrics: { rocAuc: 0.8, prAuc: 0.5, logLoss: 0.4 },
    promoted: true,
    championVersion: 'v-000000000001',
    artifactUri: 'mlops/models/churn/v-000000000001/model.json',
  };
}
