import { SqliteEventBus } from '@mlops/adapters-local';
import { type Logger } from '@mlops/kernel';
import { join } from 'node:path';
import { deadLetterAnnouncementSuite, eventBusContract, type EventBusFixture, tempDir } from '@mlops/testing/suites';

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
