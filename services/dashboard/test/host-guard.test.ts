import { request } from 'node:http';
import { ModelRegistry, RunLedger, silentLogger, type HostPolicy } from '@mlops/kernel';
import { InMemoryDocumentStore, unusedWarehouse } from '@mlops/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { createDashboardServer, type DashboardServer } from '../src/index.js';

async function server(hosts?: HostPolicy): Promise<DashboardServer> {
  const documents = new InMemoryDocumentStore();
  return createDashboardServer({
    warehouse: unusedWarehouse('never opened'),
    ledger: new RunLedger(documents),
    registry: new ModelRegistry(documents),
    bus: { listDeadLetters: async () => [], stats: async () => [] },
    log: silentLogger,
    ...(hosts ? { hosts } : {}),
  });
}

/** A GET with exactly this Host header, as a rebinding browser sends it. */
function getWithHost(
  port: number,
  path: string,
  host: string,
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host } }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the Host allow-list (DNS rebinding)', () => {
  let current: DashboardServer | undefined;
  afterEach(async () => {
    await current?.close();
    current = undefined;
  });

  it('refuses a foreign Host with 421 and a JSON body, before any route runs', async () => {
    current = await server();
    const { port } = await current.listen({ host: '127.0.0.1', port: 0, allowRemote: false });
    for (const path of ['/api/historical/top-customers', '/api/health', '/', '/no-such-page']) {
      const response = await getWithHost(port, path, 'attacker.example:18901');
      expect(response.status, path).toBe(421);
      expect(String(response.headers['content-type'])).toMatch(/^application\/json/);
      expect(JSON.parse(response.body)).toMatchObject({ error: { code: 'HTTP.HOST_NOT_ALLOWED' } });
      expect(response.headers['x-frame-options']).toBe('DENY');
    }
  });

  it('answers the loopback names with any port', async () => {
    current = await server();
    const { port } = await current.listen({ host: '127.0.0.1', port: 0, allowRemote: false });
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, 'localhost']) {
      const response = await getWithHost(port, '/api/health', host);
      expect([host, response.status]).toEqual([host, 200]);
    }
  });

  it('answers the configured hosts too, and only those', async () => {
    current = await server({ allowedHosts: ['dash.example.com', '*.corp.example'] });
    const check = async (host: string) =>
      (await current!.app.inject({ method: 'GET', url: '/api/health', headers: { host } })).statusCode;
    expect(await check('dash.example.com')).toBe(200);
    expect(await check('team.corp.example:8080')).toBe(200);
    expect(await check('dash.example.com.attacker.example')).toBe(421);
    expect(await check('attacker.example')).toBe(421);
  });
});
