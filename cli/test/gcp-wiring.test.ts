/**
 * gcp mode wires Google's engines only: the platform built from a gcp configuration, the trainer
 * composed on it and the dashboard answering from BigQuery, against the gcp stand-ins (ADC from the
 * metadata stand-in, GCS, BigQuery) and the Pub/Sub and Firestore emulators. No DuckDB instance is
 * created by product code and no DuckDB or SQLite file appears under MLOPS_HOME; the stand-in's
 * own DuckDB was created before the spy was set.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { startGcpStandins, type GcpStandins } from '@mlops/gcp-standins';
import { createPlatform } from '@mlops/platform';
import { loadConfig, silentLogger, type Platform } from '@mlops/kernel';
import { startDashboard, type RunningDashboard } from '@mlops/dashboard';
import { trainerFromPlatform } from '@mlops/trainer';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { skipWithoutEmulator, startEmulator, type RunningEmulator } from '@mlops/testing';

const skip = skipWithoutEmulator('pubsub', 'gcp wiring') || skipWithoutEmulator('firestore', 'gcp wiring');
const PROJECT = 'mlops-wiring';
const BUCKET = 'mlops-wiring-lake';
const CLIENT_VARIABLES = [
  'GCE_METADATA_HOST',
  'CLOUDSDK_CONFIG',
  'STORAGE_EMULATOR_HOST',
  'BIGQUERY_EMULATOR_HOST',
  'PUBSUB_EMULATOR_HOST',
  'FIRESTORE_EMULATOR_HOST',
  'GOOGLE_CLOUD_PROJECT',
  'GOOGLE_APPLICATION_CREDENTIALS',
  'METADATA_SERVER_DETECTION',
];

function filesUnder(folder: string): string[] {
  return readdirSync(folder, { recursive: true, encoding: 'utf8' }).map((name) => join(folder, name));
}

describe.skipIf(skip)('gcp mode wiring', () => {
  let standins: GcpStandins;
  let pubsub: RunningEmulator;
  let firestore: RunningEmulator;
  let platform: Platform;
  let dashboard: RunningDashboard | undefined;
  const home = mkdtempSync(join(tmpdir(), 'mlops-gcp-wiring-'));
  const saved = new Map(CLIENT_VARIABLES.map((name) => [name, process.env[name]]));
  let created: ReturnType<typeof vi.spyOn>;

  beforeAll(async () => {
    [pubsub, firestore, standins] = await Promise.all([
      startEmulator('pubsub'),
      startEmulator('firestore'),
      startGcpStandins({ projectId: PROJECT, buckets: [BUCKET] }),
    ]);
    for (const name of CLIENT_VARIABLES) delete process.env[name];
    // The client libraries find the stand-ins and emulators as they would on Cloud Run find Google.
    // The lake's endpoint goes through the configuration only (the GCS adapter's emulatorHost).
    const { STORAGE_EMULATOR_HOST: lakeEndpoint, ...clients } = standins.env();
    Object.assign(process.env, clients, {
      PUBSUB_EMULATOR_HOST: pubsub.host,
      FIRESTORE_EMULATOR_HOST: firestore.host,
      // The stand-in is the metadata server: skip the detection ping, which times out on a loaded machine.
      METADATA_SERVER_DETECTION: 'assume-present',
    });
    created = vi.spyOn(DuckDBInstance, 'create');
    const config = loadConfig({
      MLOPS_MODE: 'gcp',
      MLOPS_HOME: home,
      GOOGLE_CLOUD_PROJECT: PROJECT,
      MLOPS_LAKE: `gs://${BUCKET}`,
      MLOPS_PII_HMAC_KEY: 'k'.repeat(32),
      VERTEX_PIPELINE_ROOT: `gs://${BUCKET}/pipelines`,
      STORAGE_EMULATOR_HOST: lakeEndpoint,
    });
    platform = await createPlatform(config, { log: silentLogger, service: 'gcp-wiring' });
  }, 180_000);

  afterAll(async () => {
    await dashboard?.close();
    await platform?.close();
    created?.mockRestore();
    await Promise.all([standins?.stop(), pubsub?.stop(), firestore?.stop()]);
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    rmSync(home, { recursive: true, force: true });
  });

  it('composes the trainer and serves the dashboard from BigQuery, opening no DuckDB or SQLite', async () => {
    // Gold through the platform's warehouse access: BigQuery SQL with typed parameters.
    const bigquery = await import('@google-cloud/bigquery');
    await new bigquery.BigQuery({ projectId: PROJECT }).createDataset('warehouse', { location: 'EU' });
    await platform.warehouse.write(async (warehouse) => {
      const names = await warehouse.describeSchema('warehouse');
      const table = names.table('dim_startup');
      await warehouse.execute(
        `create table ${table} (company_id string, name string, sector string, country string, city string, status string, headcount int64, total_funding_usd numeric, last_round string, last_round_date date)`,
      );
      await warehouse.execute(
        `insert into ${table} (company_id, name, sector, country, city, status, headcount, total_funding_usd, last_round, last_round_date)
         values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          ...['s1', 'Acme <script>', 'fintech', 'DE', 'Berlin', 'active', 12, 1500000.5, 'seed', '2026-01-10'],
          ...['s2', 'Globex', 'health', 'FR', 'Paris', 'closed', 3, 250000, 'pre-seed', '2025-11-02'],
        ],
      );
    });

    await trainerFromPlatform(platform, { image: 'europe-docker.pkg.dev/mlops-wiring/mlops/platform:1' });
    dashboard = await startDashboard(platform, { host: '127.0.0.1', port: 0, hostLedger: false, warmEveryMs: 0 });
    const response = await fetch(`http://127.0.0.1:${dashboard.port}/api/historical/startups`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      companies: number;
      totalFundingUsd: number;
      bySector: { sector: string; activeCompanies: number }[];
      top: { companyId: string; lastRoundDate: string }[];
    };
    expect(body.companies).toBe(2);
    expect(body.totalFundingUsd).toBeCloseTo(1750000.5, 6);
    expect(body.bySector).toContainEqual(expect.objectContaining({ sector: 'fintech', activeCompanies: 1 }));
    expect(body.top.map((row) => [row.companyId, row.lastRoundDate])).toEqual([
      ['s1', '2026-01-10'],
      ['s2', '2025-11-02'],
    ]);

    expect(created).not.toHaveBeenCalled();
    expect(filesUnder(home).filter((file) => /\.(duckdb|sqlite)(-wal|-shm|\.wal|\.lock)?$/.test(file))).toEqual([]);
  }, 180_000);
});
