import { SqliteEventBus } from '@mlops/adapters-local';
import { type Delivery, type Logger } from '@mlops/kernel';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  deadLetterAnnouncementSuite,
  eventBusContract,
  type EventBusFixture,
  startEvent,
  tempDir,
  waitFor,
} from '@mlops/testing/suites';

async function sqliteFixture(log?: Logger): Promise<EventBusFixture> {
  const dir = tempDir();
  const bus = new SqliteEventBus({
    path: join(dir.path, 'bus.sqlite'),
    backoff: { minMs: 20, maxMs: 100 },
    maxMessageBytes: 64 * 1024,
    ...(log ? { log } : {}),
  });
  return {
    bus,
    maxMessageBytes: 64 * 1024,
    injectRaw: async (topic, message) => void (await bus.publishRaw(topic, message)),
    cleanup: async () => {
      await bus.close();
      dir.remove();
    },
  };
}

eventBusContract('local SQLite bus', () => sqliteFixture());
deadLetterAnnouncementSuite('local SQLite bus', (log) => sqliteFixture(log));

describe('local SQLite bus: the delivery a handler gets', () => {
  it('names the message by the id publish returned, with its publish time, also when serialised', async () => {
    const fixture = await sqliteFixture();
    try {
      const seen: Delivery[] = [];
      await fixture.bus.subscribe({ name: 'facts', topic: 'pipeline-start' }, async (_event, delivery) => {
        seen.push(delivery);
      });
      const before = Date.now();
      const id = await fixture.bus.publish(startEvent('2026-01-05'));
      await waitFor(() => seen.length === 1, 'the delivery');
      const delivery = seen[0]!;
      expect(delivery.messageId).toBe(id);
      expect(delivery.subscription).toBe('facts');
      expect(delivery.attempt).toBe(1);
      expect(delivery.publishedAt).toBeInstanceOf(Date);
      expect(delivery.publishedAt.getTime()).toBeGreaterThanOrEqual(before);
      expect(delivery.publishedAt.getTime()).toBeLessThanOrEqual(Date.now());
      expect(JSON.parse(JSON.stringify(delivery))).toEqual({
        messageId: id,
        subscription: 'facts',
        attempt: 1,
        publishedAt: delivery.publishedAt.toISOString(),
      });
    } finally {
      await fixture.cleanup();
    }
  });
});
