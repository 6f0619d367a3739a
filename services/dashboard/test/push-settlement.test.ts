import {
  createRunLedgerService,
  encodeMessage,
  ModelRegistry,
  RunLedger,
  silentLogger,
  TransientError,
  type StoredDocument,
} from '@mlops/kernel';
import { InMemoryDocumentStore, RecordingPublisher, testEvent, unusedWarehouse } from '@mlops/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { createDashboardServer, type DashboardServer } from '../src/index.js';

/** A document store that is unavailable for its first `failures` writes. */
class FlakyDocumentStore extends InMemoryDocumentStore {
  constructor(private failures: number) {
    super();
  }
  override async upsertBatch(collection: string, documents: readonly StoredDocument[]): Promise<number> {
    if (this.failures-- > 0) throw new TransientError('DOCUMENTS.UNAVAILABLE', 'the document store is unavailable');
    return super.upsertBatch(collection, documents);
  }
}

describe("the dashboard's pushed deliveries settle as every service's do", () => {
  let current: DashboardServer | undefined;
  afterEach(async () => {
    await current?.close();
    current = undefined;
  });

  async function start(documents: InMemoryDocumentStore, publisher: RecordingPublisher) {
    const ledger = new RunLedger(documents);
    current = await createDashboardServer({
      warehouse: unusedWarehouse('never opened'),
      ledger,
      registry: new ModelRegistry(documents),
      bus: { listDeadLetters: async () => [], stats: async () => [] },
      log: silentLogger,
      pushes: {
        service: createRunLedgerService(ledger),
        delivery: { bus: publisher, log: silentLogger, maxAttempts: 3, maxMessageBytes: 64 * 1024 },
      },
    });
    const { url } = await current.listen({ host: '127.0.0.1', port: 0, allowRemote: false });
    return { url, ledger };
  }

  /** A plain Pub/Sub push of an event, with the attempt Pub/Sub counted. */
  function push(deliveryAttempt: number) {
    const event = testEvent('mlops.pipeline.started.v1', { runDate: '2026-06-01', trigger: 'cli' }, '2026-06-01');
    const message = encodeMessage(event);
    const body = JSON.stringify({
      message: { data: Buffer.from(message.data).toString('base64'), attributes: message.attributes, messageId: 'm-1' },
      subscription: 'projects/p/subscriptions/dashboard',
      deliveryAttempt,
    });
    return { event, init: { method: 'POST', headers: { 'content-type': 'application/json' }, body } };
  }

  it('asks for a retry (500) on a transient failure, then records the redelivery', async () => {
    const publisher = new RecordingPublisher();
    const { url, ledger } = await start(new FlakyDocumentStore(1), publisher);
    const { event, init } = push(1);
    const first = await fetch(url, init);
    expect(first.status).toBe(500);
    expect(((await first.json()) as { error: { code: string } }).error.code).toBe('DOCUMENTS.UNAVAILABLE');
    expect(await ledger.entries()).toEqual([]);
    expect((await fetch(url, init)).status).toBe(204);
    expect((await ledger.entries()).map((entry) => entry.eventId)).toEqual([event.id]);
    expect(publisher.deadLetters).toEqual([]);
  });

  it('dead-letters the last attempt, announces stage.failed and acknowledges (204)', async () => {
    const publisher = new RecordingPublisher();
    const { url, ledger } = await start(new FlakyDocumentStore(10), publisher);
    const { event, init } = push(3);
    expect((await fetch(url, init)).status).toBe(204);
    expect(await ledger.entries()).toEqual([]);
    expect(publisher.deadLetters.map((letter) => letter.info)).toMatchObject([
      { subscription: 'dashboard.pipeline-start', code: 'BUS.MAX_ATTEMPTS', attempts: 3 },
    ]);
    const failed = publisher.ofType('mlops.stage.failed.v1');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({
      runid: event.runid,
      data: { stage: 'dashboard', code: 'DOCUMENTS.UNAVAILABLE', causeEventId: event.id },
    });
  });
});
