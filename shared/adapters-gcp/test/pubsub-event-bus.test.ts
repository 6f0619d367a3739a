import { PubSub } from '@google-cloud/pubsub';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PermanentError, TransientError, encodeMessage, type AnyEvent, type Logger } from '@mlops/kernel';
import { PubSubEventBus, type PubSubEventBusOptions } from '@mlops/adapters-gcp';
import { testEvent } from '@mlops/testing';
import {
  deadLetterAnnouncementSuite,
  eventBusContract,
  type EventBusFixture,
  skipWithoutEmulator,
  startEmulator,
  uniqueProjectId,
  type RunningEmulator,
  startEvent,
  waitFor,
} from '@mlops/testing/suites';

const skip = skipWithoutEmulator('pubsub', 'PubSubEventBus emulator tests');
const fastRetry = { minMs: 20, maxMs: 100 };

/** The plain client, as a foreign publisher or an operator would use it. */
function plainClient(projectId: string, host: string): PubSub {
  return new PubSub({
    projectId,
    apiEndpoint: host,
    emulatorMode: true,
    credentials: { client_email: 'test@localhost', private_key: 'unused' },
  });
}

describe.skipIf(skip)('PubSubEventBus on the Pub/Sub emulator', () => {
  let emulator: RunningEmulator;
  beforeAll(async () => {
    emulator = await startEmulator('pubsub');
  });
  afterAll(async () => {
    await emulator?.stop();
  });

  async function pubsubFixture(log?: Logger): Promise<EventBusFixture> {
    const projectId = uniqueProjectId('contract');
    const bus = new PubSubEventBus({
      projectId,
      emulatorHost: emulator.host,
      backoff: fastRetry,
      maxMessageBytes: 64 * 1024,
      ...(log ? { log } : {}),
    });
    const plain = plainClient(projectId, emulator.host);
    return {
      bus,
      maxMessageBytes: 64 * 1024,
      injectRaw: async (topic, message) => {
        const [exists] = await plain.topic(topic).exists();
        if (!exists) await plain.createTopic(topic);
        await plain.topic(topic).publishMessage({ data: Buffer.from(message.data), attributes: message.attributes });
      },
      cleanup: async () => {
        await bus.close();
        await plain.close();
      },
    };
  }

  eventBusContract('Pub/Sub emulator', () => pubsubFixture(), { timeoutMs: 15_000 });
  deadLetterAnnouncementSuite('Pub/Sub emulator', (log) => pubsubFixture(log), { timeoutMs: 15_000 });

  describe('Pub/Sub specifics', () => {
    let projectId: string;
    let bus: PubSubEventBus;
    let plain: PubSub;
    const open = (options: Partial<PubSubEventBusOptions> = {}) => {
      projectId = uniqueProjectId('specific');
      bus = new PubSubEventBus({ projectId, emulatorHost: emulator.host, backoff: fastRetry, ...options });
      plain = plainClient(projectId, emulator.host);
    };
    afterEach(async () => {
      await bus?.close();
      await plain?.close();
    });

    it('creates subscriptions that keep acknowledged messages and carry a dead-letter policy', async () => {
      open();
      await bus.ensureSubscription({ name: 'lander.pipeline-start', topic: 'pipeline-start', maxAttempts: 3 });
      const [metadata] = await plain.subscription('lander.pipeline-start').getMetadata();
      expect(metadata.topic).toBe(`projects/${projectId}/topics/pipeline-start`);
      expect(metadata.retainAckedMessages).toBe(true);
      // Pub/Sub's minimum is 5 attempts; the bus itself dead-letters at 3.
      expect(metadata.deadLetterPolicy).toMatchObject({
        deadLetterTopic: `projects/${projectId}/topics/dead-letter`,
        maxDeliveryAttempts: 5,
      });
      expect(metadata.retryPolicy ?? null).toBeNull(); // emulator default: backoff applied by the consumer
      const [listing] = await plain.subscription('dead-letter.listing').getMetadata();
      expect(listing.topic).toBe(`projects/${projectId}/topics/dead-letter`);
    });

    it('brings a subscription created elsewhere up to date: kept acknowledged messages and the dead-letter policy', async () => {
      open();
      const [topic] = await plain.createTopic('pipeline-start');
      await topic.createSubscription('made-by-terraform');
      await bus.subscribe(
        { name: 'made-by-terraform', topic: 'pipeline-start', maxAttempts: 7 },
        async () => undefined,
      );
      const [metadata] = await plain.subscription('made-by-terraform').getMetadata();
      expect(metadata.retainAckedMessages).toBe(true);
      expect(metadata.deadLetterPolicy).toMatchObject({
        deadLetterTopic: `projects/${projectId}/topics/dead-letter`,
        maxDeliveryAttempts: 7,
      });
    });

    it('counts attempts itself where Pub/Sub does not (a subscription without a dead-letter policy)', async () => {
      open();
      // Subscriptions of the dead-letter topic get no dead-letter policy, so messages carry no deliveryAttempt.
      const attempts: number[] = [];
      await bus.subscribe({ name: 'dlq-watcher', topic: 'dead-letter', maxAttempts: 3 }, async (_event, delivery) => {
        attempts.push(delivery.attempt);
        throw new TransientError('TEST.FLAKY', 'always fails');
      });
      const [metadata] = await plain.subscription('dlq-watcher').getMetadata();
      expect(metadata.deadLetterPolicy ?? null).toBeNull();
      await plain.topic('dead-letter').publishMessage(encodeMessage(startEvent('2026-02-09')));
      await waitFor(() => attempts.length === 3, 'three attempts', 15_000);
      await new Promise((resolve) => setTimeout(resolve, 500));
      // Given up after three, and not dead-lettered into its own topic (which would loop).
      expect(attempts).toEqual([1, 2, 3]);
    });

    it('refuses a subscription that exists on another topic, a bad name and an unknown topic', async () => {
      open();
      await bus.ensureSubscription({ name: 'taken-name', topic: 'pipeline-start' });
      await expect(bus.ensureSubscription({ name: 'taken-name', topic: 'bronze-landed' })).rejects.toMatchObject({
        code: 'BUS.SUBSCRIPTION_CONFLICT',
      });
      await expect(bus.ensureSubscription({ name: 'x', topic: 'pipeline-start' })).rejects.toMatchObject({
        code: 'BUS.BAD_NAME',
      });
      await expect(
        bus.ensureSubscription({ name: 'dead-letter.listing', topic: 'pipeline-start' }),
      ).rejects.toMatchObject({ code: 'BUS.BAD_NAME' });
      await expect(bus.ensureSubscription({ name: 'some-name', topic: 'nowhere' as never })).rejects.toMatchObject({
        code: 'BUS.UNKNOWN_TOPIC',
      });
    });

    it('puts the backoff in the subscription retry policy in subscription mode and still redelivers', async () => {
      open({ retryBackoff: 'subscription' });
      const attempts: number[] = [];
      await bus.subscribe(
        { name: 'policy-retry', topic: 'pipeline-start', backoff: { minMs: 1_000, maxMs: 10_000 } },
        async (_event, delivery) => {
          attempts.push(delivery.attempt);
          if (attempts.length === 1) throw new TransientError('TEST.FLAKY', 'first try fails');
        },
      );
      const [metadata] = await plain.subscription('policy-retry').getMetadata();
      expect(metadata.retryPolicy).toMatchObject({
        minimumBackoff: { seconds: '1' },
        maximumBackoff: { seconds: '10' },
      });
      await bus.publish(startEvent('2026-02-01'));
      await waitFor(() => attempts.length === 2, 'a redelivery through the retry policy', 15_000);
      expect(attempts).toEqual([1, 2]);
    });

    it('lists a message that Pub/Sub dead-lettered by itself after a consumer never acknowledged it', async () => {
      open();
      await bus.ensureSubscription({ name: 'crashy.pipeline-start', topic: 'pipeline-start', maxAttempts: 5 });
      // A consumer that dies on the message every time: it never acks, so Pub/Sub's policy forwards it.
      const crashy = plain.subscription('crashy.pipeline-start');
      let deliveries = 0;
      crashy.on('message', (message) => {
        deliveries += 1;
        message.nack();
      });
      const event = startEvent('2026-02-02');
      await bus.publish(event);
      await waitFor(
        async () => (await bus.listDeadLetters({ subscription: 'crashy.pipeline-start' })).length === 1,
        'the policy to forward the message',
        20_000,
      );
      await crashy.close();
      const [letter] = await bus.listDeadLetters({ subscription: 'crashy.pipeline-start' });
      expect(deliveries).toBe(5);
      expect(letter).toMatchObject({
        code: 'BUS.MAX_ATTEMPTS',
        topic: 'pipeline-start',
        attempts: 5,
        eventId: event.id,
        eventType: event.type,
      });
      expect(letter!.reason).toContain('never acknowledged');
      expect(Object.keys(letter!.message.attributes).some((key) => key.startsWith('CloudPubSub'))).toBe(false);
    });

    it('dead-letters a message received elsewhere (an Eventarc push) and redrives it to its subscription', async () => {
      open();
      const handled: string[] = [];
      await bus.ensureSubscription({ name: 'lander.sales-generated', topic: 'sales-generated' });
      const event = testEvent(
        'mlops.sales.generated.v1',
        { runDate: '2026-02-03', collection: 'sales', documentCount: 10, dirtyCount: 0 },
        '2026-02-03',
      );
      await bus.deadLetter(encodeMessage(event), {
        subscription: 'lander.sales-generated',
        topic: 'sales-generated',
        code: 'TEST.PUSHED',
        reason: 'failed behind Eventarc',
        attempts: 2,
      });
      const letters = await bus.listDeadLetters();
      expect(letters).toHaveLength(1);
      expect(letters[0]).toMatchObject({
        subscription: 'lander.sales-generated',
        topic: 'sales-generated',
        code: 'TEST.PUSHED',
        reason: 'failed behind Eventarc',
        attempts: 2,
        eventId: event.id,
        eventType: event.type,
        runId: event.runid,
      });
      expect(letters[0]!.message.attributes).toEqual(encodeMessage(event).attributes);
      // Listing does not consume: the letter is still there.
      expect(await bus.listDeadLetters()).toHaveLength(1);
      expect(await bus.redrive({ subscription: 'lander.sales-generated' })).toBe(1);
      expect(await bus.listDeadLetters()).toHaveLength(0);
      await bus.subscribe(
        { name: 'lander.sales-generated', topic: 'sales-generated' },
        async (received) => void handled.push(received.id),
      );
      await waitFor(() => handled.includes(event.id), 'the redriven event', 15_000);
      expect(await bus.redrive()).toBe(0);
    });

    it('redrives to the original subscription only, not to the other subscriptions of the topic', async () => {
      open();
      let broken = true;
      const seenA: string[] = [];
      const seenB: string[] = [];
      await bus.subscribe({ name: 'sub-a', topic: 'pipeline-start', maxAttempts: 1 }, async (event) => {
        if (broken) throw new PermanentError('TEST.BROKEN', 'not yet');
        seenA.push(event.id);
      });
      await bus.subscribe({ name: 'sub-b', topic: 'pipeline-start' }, async (event) => void seenB.push(event.id));
      const event = startEvent('2026-02-04');
      await bus.publish(event);
      await waitFor(
        async () => (await bus.listDeadLetters({ subscription: 'sub-a' })).length === 1 && seenB.length === 1,
        'a dead letter on sub-a and a delivery on sub-b',
        15_000,
      );
      broken = false;
      expect(await bus.redrive({ subscription: 'sub-a' })).toBe(1);
      await waitFor(() => seenA.includes(event.id), 'the redriven message on sub-a', 15_000);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(seenB).toEqual([event.id]);
    });

    it('replays every subscription of a topic when none is named', async () => {
      open();
      const seenA: string[] = [];
      const seenB: string[] = [];
      await bus.subscribe({ name: 'replay-a', topic: 'pipeline-start' }, async (event) => void seenA.push(event.id));
      await bus.subscribe({ name: 'replay-b', topic: 'pipeline-start' }, async (event) => void seenB.push(event.id));
      const since = new Date(Date.now() - 1_000);
      const event = startEvent('2026-02-05');
      await bus.publish(event);
      await waitFor(() => seenA.length === 1 && seenB.length === 1, 'first deliveries', 15_000);
      // Pub/Sub's seek rewinds subscriptions without saying how many messages that redelivers.
      expect(await bus.replay({ topic: 'pipeline-start', since })).toEqual({ subscriptions: 2, deliveries: undefined });
      await waitFor(() => seenA.length === 2 && seenB.length === 2, 'replayed deliveries', 15_000);
      await expect(bus.replay({ topic: 'bronze-landed', since, subscription: 'replay-a' })).rejects.toMatchObject({
        code: 'BUS.SUBSCRIPTION_CONFLICT',
      });
      await expect(bus.replay({ topic: 'pipeline-start', since, subscription: 'no-such-sub' })).rejects.toMatchObject({
        code: 'BUS.UNKNOWN_SUBSCRIPTION',
      });
    });

    it('reports per-subscription stats: acknowledged and dead known, backlog unknown', async () => {
      open();
      await bus.subscribe({ name: 'stats-ok', topic: 'pipeline-start' }, async () => undefined);
      await bus.subscribe({ name: 'stats-bad', topic: 'pipeline-start', maxAttempts: 1 }, async () => {
        throw new PermanentError('TEST.NOPE', 'always fails');
      });
      await bus.publish(startEvent('2026-02-06'));
      await bus.publish(startEvent('2026-02-07'));
      await waitFor(
        async () => (await bus.listDeadLetters({ subscription: 'stats-bad' })).length === 2,
        'two dead letters',
        15_000,
      );
      await waitFor(
        async () => (await bus.stats()).find((s) => s.subscription === 'stats-ok')?.acked === 2,
        'two acks',
        15_000,
      );
      const stats = await bus.stats();
      expect(stats.map((s) => s.subscription)).toEqual(['stats-bad', 'stats-ok']);
      expect(stats.find((s) => s.subscription === 'stats-bad')).toMatchObject({
        topic: 'pipeline-start',
        pending: -1,
        acked: 0,
        dead: 2,
      });
      expect(stats.find((s) => s.subscription === 'stats-ok')).toMatchObject({
        topic: 'pipeline-start',
        pending: -1,
        acked: 2,
        dead: 0,
      });
    });

    it('publishes to topics it may not create (Google Cloud: infra/ owns them), and fails on a missing one', async () => {
      open();
      const denied = Object.assign(new Error('7 PERMISSION_DENIED: User not authorized'), { code: 7 });
      const client = (bus as unknown as { context: { client: PubSub } }).context.client;
      client.createTopic = (() => Promise.reject(denied)) as unknown as PubSub['createTopic'];
      await expect(bus.publish(startEvent('2026-02-09') as AnyEvent)).rejects.toThrow();
      const [topic] = await plain.createTopic('pipeline-start');
      const [subscription] = await topic.createSubscription('provisioned');
      const received = new Promise<Record<string, string>>((resolve) =>
        subscription.on('message', (message: { attributes: Record<string, string>; ack(): void }) => {
          message.ack();
          resolve(message.attributes);
        }),
      );
      await bus.publish(startEvent('2026-02-09') as AnyEvent);
      expect((await received)['ce-rundate']).toBe('2026-02-09');
      await subscription.close();
    });

    it('refuses to publish once closed', async () => {
      open();
      await bus.close();
      await expect(bus.publish(startEvent('2026-02-08') as AnyEvent)).rejects.toMatchObject({ code: 'BUS.CLOSED' });
    });
  });
});
