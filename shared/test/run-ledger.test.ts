import { describe, expect, it } from 'vitest';
import { followUp, RunLedger, type AnyEvent } from '@mlops/shared';
import { InMemoryDocumentStore } from '@mlops/shared/testing';
import { startEvent } from './helpers.js';

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
});
