import { BigQuery } from '@google-cloud/bigquery';
import { startGcpStandins, type GcpStandins, type StandinLogEntry } from '../src/index.js';

const ADC_VARIABLES = [
  'GOOGLE_APPLICATION_CREDENTIALS',
  'GOOGLE_CLOUD_PROJECT',
  'GCLOUD_PROJECT',
  'BIGQUERY_EMULATOR_HOST',
];

/** The stand-ins, and a real BigQuery client that authenticates through the metadata server. */
export interface BigQueryFixture {
  standins: GcpStandins;
  bigquery: BigQuery;
  log: StandinLogEntry[];
  /** A raw authenticated request, for what the client does not show (wire encoding, error bodies). */
  raw(path: string, init?: RequestInit): Promise<{ status: number; body: Record<string, unknown> }>;
  stop(): Promise<void>;
}

export async function startBigQueryFixture(projectId = 'standin-project'): Promise<BigQueryFixture> {
  const log: StandinLogEntry[] = [];
  const standins = await startGcpStandins({ projectId, buckets: ['lake-bucket'], log: (entry) => log.push(entry) });
  const saved = new Map(ADC_VARIABLES.map((name) => [name, process.env[name]]));
  for (const name of ADC_VARIABLES) delete process.env[name];
  const env = standins.env();
  process.env.GCE_METADATA_HOST = env.GCE_METADATA_HOST;
  process.env.CLOUDSDK_CONFIG = env.CLOUDSDK_CONFIG;
  const bigquery = new BigQuery({ apiEndpoint: standins.endpoints.bigquery, projectId });
  return {
    standins,
    bigquery,
    log,
    async raw(path, init = {}) {
      const token = await bigquery.authClient.getAccessToken();
      const response = await fetch(`${standins.endpoints.bigquery}/bigquery/v2/projects/${projectId}${path}`, {
        ...init,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...(init.headers ?? {}) },
      });
      const text = await response.text();
      return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
    },
    async stop() {
      await standins.stop();
      for (const [name, value] of saved) if (value !== undefined) process.env[name] = value;
    },
  };
}
