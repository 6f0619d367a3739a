import { silentLogger, ModelRegistry, RunLedger } from '@mlops/kernel';
import { InMemoryDocumentStore, unusedWarehouse } from '@mlops/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { createDashboardServer, isLoopbackAddress, type DashboardServer } from '../src/index.js';

async function server(): Promise<DashboardServer> {
  const documents = new InMemoryDocumentStore();
  return createDashboardServer({
    warehouse: unusedWarehouse('never opened'),
    ledger: new RunLedger(documents),
    registry: new ModelRegistry(documents),
    bus: { listDeadLetters: async () => [], stats: async () => [] },
    log: silentLogger,
  });
}

describe('binding', () => {
  let current: DashboardServer | undefined;
  afterEach(async () => {
    await current?.close();
    current = undefined;
  });

  it.each([
    ['127.0.0.1', true],
    ['127.8.9.10', true],
    ['::1', true],
    ['[::1]', true],
    ['::ffff:127.0.0.1', true],
    ['0.0.0.0', false],
    ['::', false],
    ['10.0.0.5', false],
    ['192.168.1.20', false],
    ['::ffff:10.0.0.1', false],
  ])('knows whether %s is loopback (%s)', (address, expected) => {
    expect(isLoopbackAddress(address)).toBe(expected);
  });

  it.each(['0.0.0.0', '::', '10.1.2.3'])(
    'refuses to listen on %s without MLOPS_DASHBOARD_ALLOW_REMOTE',
    async (host) => {
      current = await server();
      const failure = await current.listen({ host, port: 0, allowRemote: false }).catch((error: unknown) => error);
      expect(failure).toMatchObject({ code: 'DASHBOARD.REMOTE_BIND_REFUSED' });
      expect(String((failure as Error).message)).toContain('MLOPS_DASHBOARD_ALLOW_REMOTE');
      expect(current.app.server.listening).toBe(false);
    },
  );

  it('listens on loopback, by address and by name', async () => {
    current = await server();
    const address = await current.listen({ host: '127.0.0.1', port: 0, allowRemote: false });
    expect(address.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const response = await fetch(`${address.url}api/health`);
    expect(await response.json()).toEqual({ status: 'ok' });
    await current.close();
    current = await server();
    await expect(current.listen({ host: 'localhost', port: 0, allowRemote: false })).resolves.toMatchObject({
      host: 'localhost',
    });
  });

  it('listens on every interface when remote access is allowed', async () => {
    current = await server();
    const address = await current.listen({ host: '0.0.0.0', port: 0, allowRemote: true });
    expect(address.port).toBeGreaterThan(0);
  });
});
