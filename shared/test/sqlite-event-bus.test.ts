import { SqliteEventBus } from '@mlops/shared';
import { join } from 'node:path';
import { eventBusContract } from './contracts/event-bus.contract.js';
import { tempDir } from './helpers.js';

eventBusContract('local SQLite bus', async () => {
  const dir = tempDir();
  const bus = new SqliteEventBus({
    path: join(dir.path, 'bus.sqlite'),
    backoff: { minMs: 20, maxMs: 100 },
    maxMessageBytes: 64 * 1024,
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
});
