import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  PermanentError,
  createLogger,
  hostService,
  parseTraceparent,
  type AnyEvent,
  type HostedService,
  type Service,
} from '@mlops/kernel';
import { PubSubEventBus } from '@mlops/adapters-gcp';
import {
  skipWithoutEmulator,
  startEmulator,
  uniqueProjectId,
  type RunningEmulator,
  startEvent,
  waitFor,
} from '@mlops/testing/suites';

const skip = skipWithoutEmulator('pubsub', 'Pub/Sub pull worker tests');

/** A tiny sales-gen: announces the day's sales, or fails for a date with no data. */
const salesGen: Service = {
  name: 'sales-gen',
  consumes: ['mlops.pipeline.started.v1'],
  async handle(event, context) {
    if (event.type !== 'mlops.pipeline.started.v1') return;
    if (event.data.runDate === '2026-05-31')
      throw new PermanentError('SALES_GEN.NO_DATA', 'no sales can be generated for this date');
    await context.emit(
      'mlops.sales.generated.v1',
      { runDate: event.data.runDate, collection: 'sales', documentCount: 3, dirtyCount: 0 },
      { subject: `sales/${event.data.runDate}` },
    );
  },
};

describe.skipIf(skip)('a service hosted as a Pub/Sub pull worker on the emulator', () => {
  let emulator: RunningEmulator;
  let bus: PubSubEventBus;
  let hosted: HostedService | undefined;
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({
    sink: (line) => void lines.push(JSON.parse(line) as Record<string, unknown>),
    projectId: 'p',
  });

  beforeAll(async () => {
    emulator = await startEmulator('pubsub');
  });
  afterAll(async () => {
    await emulator?.stop();
  });
  afterEach(async () => {
    await hosted?.close();
    await bus?.close();
    lines.length = 0;
  });

  it('handles an event and emits a follow-up that a downstream subscription receives with the same run and trace', async () => {
    bus = new PubSubEventBus({
      projectId: uniqueProjectId('worker'),
      emulatorHost: emulator.host,
      backoff: { minMs: 20, maxMs: 100 },
    });
    const downstream: AnyEvent[] = [];
    await bus.subscribe(
      { name: 'lander.sales-generated', topic: 'sales-generated' },
      async (event) => void downstream.push(event),
    );
    hosted = await hostService(salesGen, { bus, log });
    expect(hosted.subscriptions.map((handle) => handle.name)).toEqual(['sales-gen.pipeline-start']);

    const start = startEvent('2026-05-01');
    await bus.publish(start);
    await waitFor(() => downstream.length === 1, 'the follow-up on sales-generated', 15_000);
    const [followUp] = downstream;
    expect(followUp).toMatchObject({
      type: 'mlops.sales.generated.v1',
      source: '//mlops/sales-gen',
      subject: 'sales/2026-05-01',
      runid: start.runid,
      rundate: '2026-05-01',
    });
    expect(parseTraceparent(followUp!.traceparent)!.traceId).toBe(parseTraceparent(start.traceparent)!.traceId);
    expect(followUp!.traceparent).not.toBe(start.traceparent); // a child span
    expect(followUp!.data).toEqual({ runDate: '2026-05-01', collection: 'sales', documentCount: 3, dirtyCount: 0 });

    // The worker's log lines carry the run and the trace, as Cloud Logging groups them.
    const handled = lines.find((line) => line.message === 'handled mlops.pipeline.started.v1');
    expect(handled).toMatchObject({
      severity: 'INFO',
      service: 'sales-gen',
      runId: start.runid,
      'logging.googleapis.com/trace': `projects/p/traces/${parseTraceparent(start.traceparent)!.traceId}`,
    });
  });

  it('dead-letters a permanent failure and announces stage.failed for the same run', async () => {
    bus = new PubSubEventBus({
      projectId: uniqueProjectId('worker'),
      emulatorHost: emulator.host,
      backoff: { minMs: 20, maxMs: 100 },
    });
    const failures: AnyEvent[] = [];
    await bus.subscribe(
      { name: 'dashboard.stage-failed', topic: 'stage-failed' },
      async (event) => void failures.push(event),
    );
    hosted = await hostService(salesGen, { bus, log });
    const start = startEvent('2026-05-31');
    await bus.publish(start);
    await waitFor(
      async () => (await bus.listDeadLetters({ subscription: 'sales-gen.pipeline-start' })).length === 1,
      'a dead letter',
      15_000,
    );
    await waitFor(() => failures.length === 1, 'stage.failed', 15_000);
    const [letter] = await bus.listDeadLetters({ subscription: 'sales-gen.pipeline-start' });
    expect(letter).toMatchObject({
      code: 'SALES_GEN.NO_DATA',
      eventId: start.id,
      runId: start.runid,
      topic: 'pipeline-start',
    });
    expect(failures[0]).toMatchObject({
      type: 'mlops.stage.failed.v1',
      runid: start.runid,
      data: { stage: 'sales-gen', code: 'SALES_GEN.NO_DATA', causeEventId: start.id },
    });
  });
});
