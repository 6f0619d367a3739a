import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModelRegistry, RunLedger, silentLogger, type WarehouseAccess } from '@mlops/kernel';
import { openDuckDbWarehouse, openDuckDbWarehouseAccess, releaseDuckDbFile } from '@mlops/adapters-local';
import { InMemoryDocumentStore } from '@mlops/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDashboardServer, type DashboardServer } from '../src/index.js';
import { get, ok } from './fixtures/http.js';
import { buildWorld, type World } from './fixtures/world.fixture.js';

const ENDPOINTS = [
  '/api/meta',
  '/api/kpis?view=historical',
  '/api/kpis?view=predictive',
  '/api/kpis?view=operations',
  '/api/historical/revenue',
  '/api/historical/revenue?groupBy=region',
  '/api/historical/revenue?groupBy=category',
  '/api/historical/top-customers',
  '/api/historical/top-products',
  '/api/historical/funnel',
  '/api/historical/traffic',
  '/api/historical/startups',
  '/api/predictive/snapshots',
  '/api/predictive/risk',
  '/api/predictive/at-risk',
  '/api/predictive/models',
  '/api/predictive/feature-importance',
  '/api/predictive/predicted-vs-actual',
  '/api/operations/runs',
  '/api/operations/events',
  '/api/operations/dead-letters',
  '/api/operations/subscriptions',
  '/api/operations/quality',
  '/api/operations/promotions',
];

describe('a warehouse file that does not exist yet (fresh platform)', () => {
  let folder: string;
  let server: DashboardServer;
  let access: WarehouseAccess;
  beforeAll(async () => {
    folder = mkdtempSync(join(tmpdir(), 'dashboard-fresh-'));
    access = openDuckDbWarehouseAccess({ path: join(folder, 'warehouse.duckdb') });
    const documents = new InMemoryDocumentStore();
    server = await createDashboardServer({
      warehouse: access,
      ledger: new RunLedger(documents),
      registry: new ModelRegistry(documents),
      bus: { listDeadLetters: async () => [], stats: async () => [] },
      log: silentLogger,
    });
  });
  afterAll(async () => {
    await server?.close();
    await access?.close();
    rmSync(folder, { recursive: true, force: true });
  });

  it.each(ENDPOINTS)('answers %s with empty results', async (url) => {
    const response = await get(world0(server), url);
    expect(response.status, JSON.stringify(response.body)).toBe(200);
  });

  it('says there is nothing yet', async () => {
    const meta = await ok<{ tables: Record<string, boolean>; sales: { from: null } }>(world0(server), '/api/meta');
    expect(Object.values(meta.tables).every((present) => !present)).toBe(true);
    expect(meta.sales.from).toBeNull();
    const { kpis } = await ok<{ kpis: { orders: number; revenueUsd: number } }>(
      world0(server),
      '/api/kpis?view=historical',
    );
    expect(kpis).toMatchObject({ orders: 0, revenueUsd: 0 });
  });
});

function world0(server: DashboardServer) {
  return { server };
}

describe('a warehouse with some gold tables missing', () => {
  let world: World;
  beforeAll(async () => {
    world = await buildWorld({
      days: 30,
      scale: 0.05,
      skip: ['fact_predictions_churn', 'fct_sessions', 'fct_click_features', 'dim_startup', 'dim_customer'],
    });
  });
  afterAll(async () => {
    await world?.close();
  });

  it.each(ENDPOINTS)('answers %s without failing', async (url) => {
    const response = await get(world, url);
    expect(response.status, JSON.stringify(response.body)).toBe(200);
  });

  it('still reports the sales it has, with no region', async () => {
    const { kpis } = await ok<{ kpis: { orders: number; sessions: number } }>(world, '/api/kpis?view=historical');
    expect(kpis.orders).toBeGreaterThan(0);
    expect(kpis.sessions).toBe(0);
    const regions = await ok<{ totals: { group: string | null }[] }>(world, '/api/historical/revenue?groupBy=region');
    expect(regions.totals.map((row) => row.group)).toEqual([null]);
  });
});

describe('a gold table whose columns do not match the contract', () => {
  it('answers 500 with a stable code and no SQL in the message', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'dashboard-bad-'));
    const path = join(folder, 'gold.duckdb');
    const writer = await openDuckDbWarehouse({ path });
    // The sales and the view the revenue route reads, neither with the contract's columns.
    await writer.execute(
      'create schema warehouse; create table warehouse.fct_sales (order_id varchar); ' +
        'create table warehouse.bi_customer_category_sales_daily (order_id varchar)',
    );
    await writer.close();
    releaseDuckDbFile(path);
    const reader = openDuckDbWarehouseAccess({ path });
    const documents = new InMemoryDocumentStore();
    const server = await createDashboardServer({
      warehouse: reader,
      ledger: new RunLedger(documents),
      registry: new ModelRegistry(documents),
      bus: { listDeadLetters: async () => [], stats: async () => [] },
      log: silentLogger,
    });
    const response = await get<{ error: { code: string; message: string } }>({ server }, '/api/historical/revenue');
    expect(response.status).toBe(500);
    expect(response.body.error.code).toBe('DASHBOARD.QUERY_FAILED');
    expect(response.body.error.message).not.toMatch(/select|Binder/i);
    await server.close();
    await reader.close();
    rmSync(folder, { recursive: true, force: true });
  });
});
