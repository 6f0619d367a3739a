import { SqliteEventBus, type Logger } from '@mlops/shared';
import { join } from 'node:path';
import { deadLetterAnnouncementSuite } from './contracts/dead-letter-announcement.js';
import { eventBusContract, type EventBusFixture } from './contracts/event-bus.contract.js';
import { tempDir } from './helpers.js';

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
