import { ModelRegistry, RunLedger, TransientError, silentLogger } from '@mlops/kernel';
import { InMemoryDocumentStore, unusedWarehouse } from '@mlops/testing';
import { describe, expect, it } from 'vitest';
import { createDashboardServer } from '../src/index.js';

describe('warming up against an unreachable warehouse', () => {
  it('resolves false and keeps serving: the warm-up timer never sees a rejection', async () => {
    const documents = new InMemoryDocumentStore();
    const server = await createDashboardServer({
      warehouse: {
        ...unusedWarehouse('unreachable'),
        version: async () => {
          throw new TransientError('WAREHOUSE.UNAVAILABLE', 'the warehouse cannot be reached');
        },
      },
      ledger: new RunLedger(documents),
      registry: new ModelRegistry(documents),
      bus: { listDeadLetters: async () => [], stats: async () => [] },
      log: silentLogger,
    });
    try {
      await expect(server.warm()).resolves.toBe(false);
      expect((await server.app.inject({ url: '/api/health' })).statusCode).toBe(200);
    } finally {
      await server.close();
    }
  });
});
