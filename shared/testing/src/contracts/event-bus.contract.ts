import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  PermanentError,
  TransientError,
  encodeMessage,
  messageSize,
  type AnyEvent,
  type EventBus,
  type Topic,
  type WireMessage,
} from '@mlops/kernel';
import { startEvent, waitFor } from '../helpers.js';

/** What a contract run needs from an adapter under test. */
export interface EventBusFixture {
  bus: EventBus;
  /** Put bytes on a topic the way a foreign or broken publisher could, bypassing validation. */
  injectRaw(topic: Topic, message: WireMessage): Promise<void>;
  /** Largest message the adapter accepts on receipt. */
  maxMessageBytes: number;
  cleanup(): Promise<void>;
}

let counter = 0;
const unique = (name: string) => `${name}-${Date.now().toString(36)}-${(counter += 1)}`;
const fastRetry = { minMs: 20, maxMs: 100 };

/**
 * One behavioural suite every EventBus adapter must pass: delivery, redelivery after a transient
 * failure, dead-lettering after N attempts and on a permanent error, redrive, replay from a
 * timestamp, duplicates, and bad input on the wire.
 */
export function eventBusContract(
  name: string,
  create: () => Promise<EventBusFixture>,
  options: { timeoutMs?: number } = {},
): void {
  const timeout = options.timeoutMs ?? 10_000;
  describe(`EventBus contract: ${name}`, () => {
    let fixture: EventBusFixture;
    beforeEach(async () => {
      fixture = await create();
    });
    afterEach(async () => {
      await fixture.cleanup();
    });

    it('delivers a published event to every subscription of its topic', async () => {
      const seenA: AnyEvent[] = [];
      const seenB: AnyEvent[] = [];
      const a = unique('a');
      const b = unique('b');
      await fixture.bus.subscribe({ name: a, topic: 'pipeline-start' }, async (event) => void seenA.push(event));
      await fixture.bus.subscribe({ name: b, topic: 'pipeline-start' }, async (event) => void seenB.push(event));
      const event = startEvent('2026-01-05');
      await fixture.bus.publish(event);
      await waitFor(() => seenA.length === 1 && seenB.length === 1, 'both subscriptions to receive the event', timeout);
      expect(seenA[0]).toMatchObject({
        id: event.id,
        type: event.type,
        runid: event.runid,
        rundate: '2026-01-05',
        traceparent: event.traceparent,
        data: event.data,
      });
      expect(seenB[0]!.id).toBe(event.id);
    });

    it('keeps messages published after ensureSubscription and before anyone consumes', async () => {
      const sub = unique('early');
      await fixture.bus.ensureSubscription({ name: sub, topic: 'pipeline-start' });
      const event = startEvent('2026-01-06');
      await fixture.bus.publish(event);
      const seen: string[] = [];
      await fixture.bus.subscribe({ name: sub, topic: 'pipeline-start' }, async (e) => void seen.push(e.id));
      await waitFor(() => seen.includes(event.id), 'the early message', timeout);
    });

    it('redelivers after a transient failure, with the attempt number', async () => {
      const attempts: number[] = [];
      await fixture.bus.subscribe(
        { name: unique('retry'), topic: 'pipeline-start', backoff: fastRetry, maxAttempts: 5 },
        async (_event, delivery) => {
          attempts.push(delivery.attempt);
          if (attempts.length === 1) throw new TransientError('TEST.FLAKY', 'first try fails');
        },
      );
      await fixture.bus.publish(startEvent('2026-01-07'));
      await waitFor(() => attempts.length >= 2, 'a redelivery', timeout);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(attempts.slice(0, 2)).toEqual([1, 2]);
      expect(attempts).toHaveLength(2);
    });

    it('dead-letters after the attempt limit with the last error as reason', async () => {
      const sub = unique('exhaust');
      let calls = 0;
      await fixture.bus.subscribe(
        { name: sub, topic: 'pipeline-start', backoff: fastRetry, maxAttempts: 3 },
        async () => {
          calls += 1;
          throw new TransientError('TEST.DOWN', 'the warehouse is unreachable');
        },
      );
      const event = startEvent('2026-01-08');
      await fixture.bus.publish(event);
      await waitFor(
        async () => (await fixture.bus.listDeadLetters({ subscription: sub })).length === 1,
        'a dead letter',
        timeout,
      );
      const [letter] = await fixture.bus.listDeadLetters({ subscription: sub });
      expect(calls).toBe(3);
      expect(letter).toMatchObject({
        subscription: sub,
        topic: 'pipeline-start',
        code: 'BUS.MAX_ATTEMPTS',
        eventType: event.type,
        eventId: event.id,
        attempts: 3,
      });
      expect(letter!.reason).toContain('the warehouse is unreachable');
    });

    it('dead-letters at once on a permanent error', async () => {
      const sub = unique('permanent');
      let calls = 0;
      await fixture.bus.subscribe(
        { name: sub, topic: 'pipeline-start', backoff: fastRetry, maxAttempts: 5 },
        async () => {
          calls += 1;
          throw new PermanentError('TEST.BAD_DATE', 'run date 2026-02-30 does not exist');
        },
      );
      await fixture.bus.publish(startEvent('2026-01-09'));
      await waitFor(
        async () => (await fixture.bus.listDeadLetters({ subscription: sub })).length === 1,
        'a dead letter',
        timeout,
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(calls).toBe(1);
      const [letter] = await fixture.bus.listDeadLetters({ subscription: sub });
      expect(letter).toMatchObject({ code: 'TEST.BAD_DATE', attempts: 1 });
    });

    it('redrives a dead letter once the cause is fixed', async () => {
      const sub = unique('redrive');
      let broken = true;
      const handled: string[] = [];
      await fixture.bus.subscribe(
        { name: sub, topic: 'pipeline-start', backoff: fastRetry, maxAttempts: 1 },
        async (event) => {
          if (broken) throw new PermanentError('TEST.BROKEN', 'not yet');
          handled.push(event.id);
        },
      );
      const event = startEvent('2026-01-10');
      await fixture.bus.publish(event);
      await waitFor(
        async () => (await fixture.bus.listDeadLetters({ subscription: sub })).length === 1,
        'a dead letter',
        timeout,
      );
      broken = false;
      const [letter] = await fixture.bus.listDeadLetters({ subscription: sub });
      expect(await fixture.bus.redrive({ ids: [letter!.id] })).toBe(1);
      await waitFor(() => handled.includes(event.id), 'the redriven message', timeout);
      expect(await fixture.bus.listDeadLetters({ subscription: sub })).toHaveLength(0);
    });

    it('replays a topic from a point in time', async () => {
      const sub = unique('replay');
      const seen: string[] = [];
      await fixture.bus.subscribe({ name: sub, topic: 'pipeline-start' }, async (event) => void seen.push(event.id));
      const before = startEvent('2026-01-11');
      await fixture.bus.publish(before);
      await waitFor(() => seen.includes(before.id), 'the first event', timeout);
      await new Promise((resolve) => setTimeout(resolve, 1100));
      const since = new Date();
      await new Promise((resolve) => setTimeout(resolve, 50));
      const after = startEvent('2026-01-12');
      await fixture.bus.publish(after);
      await waitFor(() => seen.includes(after.id), 'the second event', timeout);
      const replayed = await fixture.bus.replay({ topic: 'pipeline-start', since, subscription: sub });
      // One subscription rewound; the deliveries it scheduled, where the transport counts them.
      expect(replayed.subscriptions).toBe(1);
      expect([1, undefined]).toContain(replayed.deliveries);
      await waitFor(() => seen.filter((id) => id === after.id).length === 2, 'the replayed event', timeout);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(seen.filter((id) => id === before.id)).toHaveLength(1);
    });

    it('delivers the same event twice when it is published twice, and an idempotent handler keeps one effect', async () => {
      const effects = new Map<string, string>();
      let deliveries = 0;
      await fixture.bus.subscribe({ name: unique('dup'), topic: 'pipeline-start' }, async (event) => {
        deliveries += 1;
        if (event.type === 'mlops.pipeline.started.v1') effects.set(event.data.runDate, event.id);
      });
      const event = startEvent('2026-01-13');
      await fixture.bus.publish(event);
      await fixture.bus.publish(event);
      await waitFor(() => deliveries === 2, 'two deliveries', timeout);
      expect([...effects.entries()]).toEqual([['2026-01-13', event.id]]);
    });

    it('dead-letters bad input on the wire with a clear reason and keeps consuming', async () => {
      const sub = unique('bad');
      const handled: string[] = [];
      await fixture.bus.subscribe(
        { name: sub, topic: 'pipeline-start', backoff: fastRetry, maxAttempts: 2 },
        async (event) => void handled.push(event.id),
      );
      const good = encodeMessage(startEvent('2026-01-14') as AnyEvent);
      const cases: { why: string; message: WireMessage; code: string }[] = [
        { why: 'invalid JSON', message: { ...good, data: Buffer.from('{"runDate": ') }, code: 'EVENT.INVALID_JSON' },
        {
          why: 'unknown type',
          message: { ...good, attributes: { ...good.attributes, 'ce-type': 'mlops.pipeline.exploded.v9' } },
          code: 'EVENT.UNKNOWN_TYPE',
        },
        {
          why: 'schema violation',
          message: { ...good, data: Buffer.from(JSON.stringify({ runDate: '2026-02-30', trigger: 'cli' })) },
          code: 'EVENT.SCHEMA_VIOLATION',
        },
        {
          why: 'missing extension',
          message: {
            ...good,
            attributes: Object.fromEntries(Object.entries(good.attributes).filter(([key]) => key !== 'ce-runid')),
          },
          code: 'EVENT.ENVELOPE_INVALID',
        },
        {
          why: 'oversized',
          message: { ...good, attributes: { ...good.attributes, padding: 'x'.repeat(fixture.maxMessageBytes) } },
          code: 'EVENT.TOO_LARGE',
        },
        {
          why: 'oversized data',
          message: { ...good, data: Buffer.from(JSON.stringify({ pad: 'y'.repeat(fixture.maxMessageBytes) })) },
          code: 'EVENT.TOO_LARGE',
        },
      ];
      for (const item of cases) await fixture.injectRaw('pipeline-start', item.message);
      const after = startEvent('2026-01-15');
      await fixture.bus.publish(after);
      await waitFor(
        async () => (await fixture.bus.listDeadLetters({ subscription: sub })).length === cases.length,
        'six dead letters',
        timeout,
      );
      await waitFor(() => handled.includes(after.id), 'the valid event after the bad ones', timeout);
      const letters = await fixture.bus.listDeadLetters({ subscription: sub });
      expect(letters.map((letter) => letter.code).sort()).toEqual(cases.map((item) => item.code).sort());
      for (const letter of letters) expect(letter.reason.length).toBeGreaterThan(10);
      expect(letters.find((l) => l.code === 'EVENT.UNKNOWN_TYPE')!.reason).toContain('mlops.pipeline.exploded.v9');
      expect(letters.find((l) => l.code === 'EVENT.ENVELOPE_INVALID')!.reason).toContain('runid');
      expect(letters.find((l) => l.code === 'EVENT.SCHEMA_VIOLATION')!.reason).toContain('runDate');
      expect(handled).toEqual([after.id]);
      // An oversized message is kept as a bounded excerpt with the whole one's size and hash.
      for (const letter of letters.filter((l) => l.code === 'EVENT.TOO_LARGE')) {
        expect(letter.excerpt!.bytes).toBeGreaterThan(fixture.maxMessageBytes);
        expect(letter.excerpt!.sha256).toMatch(/^[0-9a-f]{64}$/);
        expect(messageSize(letter.message)).toBeLessThan(16 * 1024);
        expect(letter.eventId).toBeDefined();
      }
    });

    it('refuses to publish an event that violates its schema', async () => {
      const bad = {
        ...startEvent('2026-01-16'),
        data: { runDate: 'yesterday', trigger: 'cli' },
      } as unknown as AnyEvent;
      await expect(fixture.bus.publish(bad)).rejects.toMatchObject({ code: 'EVENT.SCHEMA_VIOLATION' });
    });
  });
}
