/**
 * The gcp stand-ins with the platform's BigQuery warehouse access on them: Application Default
 * Credentials from the metadata stand-in, the real `@google-cloud/bigquery` client.
 */
import { startGcpStandins, type GcpStandins } from '@mlops/gcp-standins';
import {
  openBigQueryWarehouseAccess,
  type BigQueryWarehouseAccess,
  type BigQueryWarehouseAccessOptions,
} from '../../src/bigquery/bigquery-warehouse-access.adapter.js';

const ADC_VARIABLES = [
  'GOOGLE_APPLICATION_CREDENTIALS',
  'GOOGLE_CLOUD_PROJECT',
  'GCLOUD_PROJECT',
  'BIGQUERY_EMULATOR_HOST',
];

export const PROJECT = 'mlops-bq-test';

export interface BigQueryStandinFixture {
  standins: GcpStandins;
  open(options?: Partial<BigQueryWarehouseAccessOptions>): BigQueryWarehouseAccess;
  stop(): Promise<void>;
}

export async function startBigQueryStandinFixture(): Promise<BigQueryStandinFixture> {
  const standins = await startGcpStandins({ projectId: PROJECT, buckets: ['lake-bucket'] });
  const saved = new Map(ADC_VARIABLES.map((name) => [name, process.env[name]]));
  for (const name of ADC_VARIABLES) delete process.env[name];
  const env = standins.env();
  process.env.GCE_METADATA_HOST = env.GCE_METADATA_HOST;
  process.env.CLOUDSDK_CONFIG = env.CLOUDSDK_CONFIG;
  const opened: BigQueryWarehouseAccess[] = [];
  return {
    standins,
    open(options = {}) {
      const access = openBigQueryWarehouseAccess({
        projectId: PROJECT,
        location: 'EU',
        warehouseDataset: 'warehouse',
        service: 'test',
        apiEndpoint: standins.endpoints.bigquery,
        versionTtlMs: 0,
        ...options,
      });
      opened.push(access);
      return access;
    },
    async stop() {
      for (const access of opened) await access.close();
      await standins.stop();
      for (const [name, value] of saved) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      delete process.env.GCE_METADATA_HOST;
      delete process.env.CLOUDSDK_CONFIG;
    },
  };
}
