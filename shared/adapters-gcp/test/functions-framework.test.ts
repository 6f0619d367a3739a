import { getTestServer } from '@google-cloud/functions-framework/testing';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  PermanentError,
  TransientError,
  encodeMessage,
  serveCloudEvents,
  silentLogger,
  type AnyEvent,
  type CloudEventsServer,
  type Service,
  type WireMessage,
} from '@mlops/kernel';
import { SqliteEventBus } from '@mlops/adapters-local';
import { REDRIVE_SUBSCRIPTION_ATTRIBUTE, registerCloudEventService } from '@mlops/adapters-gcp';
import { RecordingPublisher } from '@mlops/testing';
import { startEvent, tempDir, waitFor } from '@mlops/testing/suites';

/** What the test service does for a run date. */
const behaviour = new Map<string, 'ok' | 'transient' | 'permanent'>();
const seen: AnyEvent[] = [];
const service: Service = {
  name: 'sales-gen',
  consumes: ['mlops.pipeline.started.v1'],
  async handle(event) {
    seen.push(event);
    const mode = behaviour.get(event.rundate) ?? 'ok';
    if (mode === 'transient') throw new TransientError('TEST.WAREHOUSE_BUSY', 'the warehouse is busy');
    if (mode === 'permanent') throw new PermanentError('TEST.BAD_RUN', 'run date has no data');
  },
};

const MAX_ATTEMPTS = 5;
const MAX_MESSAGE_BYTES = 8 * 1024;
const SUBSCRIPTION = 'sales-gen.pipeline-start';

describe('HTTP CloudEvents transport (real HTTP server, Eventarc-shaped binary CloudEvents)', () => {
  const publisher = new RecordingPublisher();
  let server: CloudEventsServer;
  let url: string;
  let counter = 0;

  beforeAll(async () => {
    server = await serveCloudEvents(service, {
      host: '127.0.0.1',
      port: 0,
      bus: publisher,
      log: silentLogger,
      maxAttempts: MAX_ATTEMPTS,
      maxMessageBytes: MAX_MESSAGE_BYTES,
    });
    url = server.url;
  });
  afterAll(async () => {
    await server.close();
  });
  beforeEach(() => {
    seen.length = 0;
    publisher.events.length = 0;
    publisher.deadLetters.length = 0;
    behaviour.clear();
  });

  /** POST what Eventarc sends for a Pub/Sub message: binary mode, the message inside the body. */
  async function push(
    message: WireMessage,
    options: { type?: string; deliveryAttempt?: number } = {},
  ): Promise<{ status: number; body: string }> {
    counter += 1;
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'ce-specversion': '1.0',
        'ce-type': options.type ?? 'google.cloud.pubsub.topic.v1.messagePublished',
        'ce-source': '//pubsub.googleapis.com/projects/p/topics/pipeline-start',
        'ce-id': `push-${counter}`,
        'ce-time': new Date().toISOString(),
      },
      body: JSON.stringify({
        message: {
          data: Buffer.from(message.data).toString('base64'),
          attributes: message.attributes,
          messageId: String(counter),
          publishTime: new Date().toISOString(),
        },
        subscription: 'projects/p/subscriptions/eventarc-europe-west1-sales-gen-000',
        ...(options.deliveryAttempt ? { deliveryAttempt: options.deliveryAttempt } : {}),
      }),
    });
    return { status: response.status, body: await response.text() };
  }

  it('answers 2xx to a good event, and the handler sees the same envelope as a bus subscriber', async () => {
    const event = startEvent('2026-04-01');
    const { status } = await push(encodeMessage(event));
    expect(status).toBeGreaterThanOrEqual(200);
    expect(status).toBeLessThan(300);
    expect(seen).toHaveLength(1);

    // The same event through the local bus, as a pull subscriber receives it.
    const dir = tempDir();
    const bus = new SqliteEventBus({ path: join(dir.path, 'bus.sqlite') });
    try {
      const onBus: AnyEvent[] = [];
      await bus.subscribe(
        { name: SUBSCRIPTION, topic: 'pipeline-start' },
        async (received) => void onBus.push(received),
      );
      await bus.publish(event);
      await waitFor(() => onBus.length === 1, 'the bus delivery');
      expect(seen[0]).toEqual(onBus[0]);
      expect(seen[0]).toMatchObject({
        id: event.id,
        runid: event.runid,
        rundate: '2026-04-01',
        traceparent: event.traceparent,
        data: event.data,
      });
    } finally {
      await bus.close();
      dir.remove();
    }
    expect(publisher.deadLetters).toHaveLength(0);
  });

  it("answers 5xx to a handler's transient error so Eventarc retries, and records no dead letter", async () => {
    behaviour.set('2026-04-02', 'transient');
    const { status, body } = await push(encodeMessage(startEvent('2026-04-02')), { deliveryAttempt: 2 });
    expect(status).toBeGreaterThanOrEqual(500);
    expect(JSON.parse(body)).toMatchObject({ error: { code: 'TEST.WAREHOUSE_BUSY' } });
    expect(body).toContain('the warehouse is busy');
    expect(publisher.deadLetters).toHaveLength(0);
  });

  it('dead-letters a transient failure on the last attempt and answers 2xx', async () => {
    behaviour.set('2026-04-03', 'transient');
    const { status } = await push(encodeMessage(startEvent('2026-04-03')), { deliveryAttempt: MAX_ATTEMPTS });
    expect(status).toBe(204);
    expect(publisher.deadLetters).toHaveLength(1);
    expect(publisher.deadLetters[0]!.info).toMatchObject({
      subscription: SUBSCRIPTION,
      topic: 'pipeline-start',
      code: 'BUS.MAX_ATTEMPTS',
      attempts: MAX_ATTEMPTS,
    });
  });

  it("answers 2xx to a handler's permanent error, dead-letters it and announces stage.failed", async () => {
    behaviour.set('2026-04-04', 'permanent');
    const event = startEvent('2026-04-04');
    const { status } = await push(encodeMessage(event));
    expect(status).toBe(204);
    expect(publisher.deadLetters).toHaveLength(1);
    expect(publisher.deadLetters[0]!.info).toMatchObject({
      subscription: SUBSCRIPTION,
      topic: 'pipeline-start',
      code: 'TEST.BAD_RUN',
      reason: 'run date has no data',
      attempts: 1,
    });
    expect(publisher.deadLetters[0]!.message.attributes['ce-id']).toBe(event.id);
    expect(publisher.ofType('mlops.stage.failed.v1')).toMatchObject([
      { runid: event.runid, data: { stage: 'sales-gen', code: 'TEST.BAD_RUN', causeEventId: event.id } },
    ]);
  });

  const good = encodeMessage(startEvent('2026-04-05'));
  const badInput: { why: string; message: WireMessage; type?: string; code: string }[] = [
    {
      why: 'invalid JSON in the message',
      message: { ...good, data: Buffer.from('{"runDate": ') },
      code: 'EVENT.INVALID_JSON',
    },
    {
      why: 'an unknown event type',
      message: { ...good, attributes: { ...good.attributes, 'ce-type': 'mlops.pipeline.exploded.v9' } },
      code: 'EVENT.UNKNOWN_TYPE',
    },
    {
      why: 'a schema violation',
      message: { ...good, data: Buffer.from(JSON.stringify({ runDate: '2026-02-30', trigger: 'cli' })) },
      code: 'EVENT.SCHEMA_VIOLATION',
    },
    {
      why: 'a missing extension',
      message: {
        ...good,
        attributes: Object.fromEntries(Object.entries(good.attributes).filter(([key]) => key !== 'ce-runid')),
      },
      code: 'EVENT.ENVELOPE_INVALID',
    },
    {
      why: 'an oversized message',
      message: { ...good, attributes: { ...good.attributes, padding: 'x'.repeat(MAX_MESSAGE_BYTES) } },
      code: 'EVENT.TOO_LARGE',
    },
    {
      why: 'a CloudEvent that is not a Pub/Sub message',
      message: good,
      type: 'google.cloud.storage.object.v1.finalized',
      code: 'EVENTARC.UNEXPECTED_TYPE',
    },
  ];
  for (const item of badInput) {
    it(`answers 2xx and dead-letters ${item.why} (${item.code})`, async () => {
      const { status } = await push(item.message, item.type ? { type: item.type } : {});
      expect(status).toBe(204);
      expect(seen).toHaveLength(0);
      expect(publisher.deadLetters).toHaveLength(1);
      expect(publisher.deadLetters[0]!.info.code).toBe(item.code);
      expect(publisher.deadLetters[0]!.info.reason.length).toBeGreaterThan(10);
      // It never reached the handler, so the runtime announces it, with the run the message names.
      expect(publisher.ofType('mlops.stage.failed.v1')).toMatchObject([
        { data: { stage: 'sales-gen', code: item.code, reason: publisher.deadLetters[0]!.info.reason } },
      ]);
    });
  }

  it('ignores a redrive addressed to another subscription of the topic, and handles one addressed to it', async () => {
    const event = startEvent('2026-04-06');
    const message = encodeMessage(event);
    const elsewhere = await push({
      ...message,
      attributes: { ...message.attributes, [REDRIVE_SUBSCRIPTION_ATTRIBUTE]: 'lander.pipeline-start' },
    });
    expect(elsewhere.status).toBe(204);
    expect(seen).toHaveLength(0);
    const mine = await push({
      ...message,
      attributes: { ...message.attributes, [REDRIVE_SUBSCRIPTION_ATTRIBUTE]: SUBSCRIPTION },
    });
    expect(mine.status).toBe(204);
    expect(seen.map((e) => e.id)).toEqual([event.id]);
    expect(publisher.deadLetters).toHaveLength(0);
  });
});

describe('the same service registered with @google-cloud/functions-framework (functions-framework --target)', () => {
  it('handles a good event and asks for a retry on a transient error', async () => {
    const publisher = new RecordingPublisher();
    const name = registerCloudEventService(service, {
      bus: publisher,
      log: silentLogger,
      maxAttempts: MAX_ATTEMPTS,
      maxMessageBytes: MAX_MESSAGE_BYTES,
      functionName: 'salesGenTest',
    });
    expect(name).toBe('salesGenTest');
    const server = getTestServer(name);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const target = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/`;
    try {
      behaviour.clear();
      seen.length = 0;
      behaviour.set('2026-04-08', 'transient');
      const post = (event: AnyEvent) =>
        fetch(target, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'ce-specversion': '1.0',
            'ce-type': 'google.cloud.pubsub.topic.v1.messagePublished',
            'ce-source': '//pubsub.googleapis.com/projects/p/topics/pipeline-start',
            'ce-id': `registered-${event.id}`,
          },
          body: JSON.stringify({
            message: {
              data: Buffer.from(encodeMessage(event).data).toString('base64'),
              attributes: encodeMessage(event).attributes,
              messageId: '1',
            },
          }),
        });
      expect((await post(startEvent('2026-04-07'))).status).toBe(204);
      expect((await post(startEvent('2026-04-08'))).status).toBe(500);
      expect(seen.map((event) => event.rundate)).toEqual(['2026-04-07', '2026-04-08']);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
