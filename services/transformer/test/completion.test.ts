/**
 * The asynchronous transformer's bookkeeping with a scripted Dataform: the deadline sweep, early
 * completions, and what a timed-out invocation leaves behind.
 */
import { describe, expect, it } from 'vitest';
import {
  handlePushDelivery,
  silentLogger,
  type AsyncTransformRunner,
  type BronzeLanded,
  type BronzeSource,
  type TransformProgress,
  type TransformRunRequest,
  type TransformRunResult,
} from '@mlops/kernel';
import { InMemoryDocumentStore, RecordingPublisher, deliver, testEvent } from '@mlops/testing';
import { INVOCATIONS_COLLECTION, LEDGER_COLLECTION, createTransformerService, sweepInvocations } from '../src/index.js';

const REPOSITORY = 'projects/p/locations/l/repositories/mlops';

/** A Dataform whose invocations end when the test says so. */
class ScriptedDataform implements AsyncTransformRunner {
  readonly engine = 'bigquery' as const;
  readonly states = new Map<string, 'running' | 'succeeded'>();
  readonly cancelled: string[] = [];
  private count = 0;
  async run(): Promise<TransformRunResult> {
    throw new Error('the asynchronous path never waits');
  }
  async submit(request: TransformRunRequest) {
    this.count += 1;
    const invocation = this.invocationName(`inv-${this.count}`);
    this.states.set(invocation, 'running');
    return { invocation, runDates: [...request.runDates].sort() };
  }
  async read(invocation: string, runDates: readonly string[]): Promise<TransformProgress> {
    if (this.states.get(invocation) !== 'succeeded') return { state: 'running' };
    return {
      state: 'done',
      result: {
        engine: 'bigquery',
        runDates: [...runDates],
        tables: [{ name: 'warehouse.fct_sales', rows: 3 }],
        quarantine: [],
        assertions: [{ name: 'warehouse_fct_sales_assertions_uniqueKey_0', passed: true, failingRows: 0 }],
        actions: [],
        durationMs: 5,
        compilation: { cached: false, durationMs: 0 },
        invocation,
      },
    };
  }
  invocationName(id: string): string {
    return `${REPOSITORY}/workflowInvocations/${id}`;
  }
  async cancel(invocation: string): Promise<void> {
    this.cancelled.push(invocation);
  }
}

function landed(runDate: string, source: BronzeSource): BronzeLanded {
  const hash = `${{ sales: 'a', clickstream: 'b', startups: 'c' }[source]}${runDate.replaceAll('-', '')}`.padEnd(
    64,
    '0',
  );
  const format = source === 'sales' ? 'parquet' : 'jsonl';
  return {
    runDate,
    source,
    format,
    prefix: `bronze/${source}/dt=${runDate}/`,
    objects: [{ key: `bronze/${source}/dt=${runDate}/part-00000.${format}`, bytes: 1, sha256: hash, rows: 1 }],
    rowCount: 1,
    bytes: 1,
    contentHash: hash,
    loadType: source === 'startups' ? 'full' : 'daily',
  };
}

function setup() {
  const documents = new InMemoryDocumentStore();
  const runner = new ScriptedDataform();
  const publisher = new RecordingPublisher();
  const service = createTransformerService({ documents, runner, publisher, invocationDeadlineMs: 60_000 });
  const send = async (runDate: string) => {
    for (const source of ['sales', 'clickstream', 'startups'] as const)
      await deliver(service, testEvent('mlops.bronze.landed.v1', landed(runDate, source), runDate), { publisher });
  };
  const complete = (id: string) =>
    handlePushDelivery(
      service,
      {
        type: 'google.cloud.pubsub.topic.v1.messagePublished',
        source: '//pubsub.googleapis.com/projects/p/topics/dataform-completions',
        data: {
          message: {
            data: Buffer.from(
              JSON.stringify({ jsonPayload: { workflowInvocationId: id, terminalState: 'SUCCEEDED' } }),
            ).toString('base64'),
            messageId: `c-${id}`,
          },
        },
      },
      { bus: publisher, log: silentLogger, maxAttempts: 5, maxMessageBytes: 262_144 },
    );
  return {
    documents,
    runner,
    publisher,
    send,
    complete,
    deps: { documents, runner, ledgerCollection: LEDGER_COLLECTION },
  };
}

describe('asynchronous transformer (scripted Dataform)', () => {
  it('asks for the completion again when Dataform still reports the invocation running', async () => {
    const { send, complete, publisher } = setup();
    await send('2026-02-01');
    expect(await complete('inv-1')).toMatchObject({ status: 'retry', code: 'TRANSFORMER.COMPLETION_EARLY' });
    expect(publisher.events.filter((event) => event.type !== 'mlops.stage.skipped.v1')).toEqual([]);
  });

  it('leaves invocations within their deadline alone, announces one that ended without a completion', async () => {
    const { send, runner, publisher, deps } = setup();
    await send('2026-02-01');
    expect(await sweepInvocations(deps, publisher, silentLogger, { deadlineMs: 60_000 })).toEqual({
      settled: 0,
      timedOut: 0,
    });
    runner.states.set(runner.invocationName('inv-1'), 'succeeded');
    const later = new Date(Date.now() + 120_000);
    expect(await sweepInvocations(deps, publisher, silentLogger, { deadlineMs: 60_000, now: later })).toEqual({
      settled: 1,
      timedOut: 0,
    });
    expect(publisher.ofType('mlops.warehouse.ready.v1').map((event) => event.data.runDates)).toEqual([['2026-02-01']]);
  });

  it('cancels an invocation past its deadline, announces DEADLINE_EXCEEDED, restores the date, ignores a late completion', async () => {
    const { send, complete, runner, publisher, documents, deps } = setup();
    await send('2026-02-01');
    runner.states.set(runner.invocationName('inv-1'), 'succeeded');
    await complete('inv-1');
    // The date is rebuilt from other partitions; that invocation never ends.
    await deliver(
      createTransformerService({ documents, runner }),
      testEvent(
        'mlops.bronze.landed.v1',
        { ...landed('2026-02-01', 'sales'), contentHash: 'd'.repeat(64) },
        '2026-02-01',
      ),
      { publisher },
    );
    expect((await documents.get(LEDGER_COLLECTION, 'built_2026-02-01'))?.data.status).toBe('pending');
    const later = new Date(Date.now() + 120_000);
    expect(await sweepInvocations(deps, publisher, silentLogger, { deadlineMs: 60_000, now: later })).toEqual({
      settled: 1,
      timedOut: 1,
    });
    expect(runner.cancelled).toEqual([runner.invocationName('inv-2')]);
    const [failed] = publisher.ofType('mlops.stage.failed.v1');
    expect(failed?.data).toMatchObject({
      stage: 'transformer',
      code: 'TRANSFORMER.DEADLINE_EXCEEDED',
      runDates: ['2026-02-01'],
    });
    // The date is back to how it was built before: ready, from the first partitions.
    expect((await documents.get(LEDGER_COLLECTION, 'built_2026-02-01'))?.data.status).toBe('ready');
    expect((await documents.get(INVOCATIONS_COLLECTION, 'inv-2'))?.data.status).toBe('timed-out');
    runner.states.set(runner.invocationName('inv-2'), 'succeeded');
    expect(await complete('inv-2')).toEqual({ status: 'handled' });
    expect(publisher.ofType('mlops.warehouse.ready.v1')).toHaveLength(1);
  });
});
