import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBigQueryStandin, type BigQueryStandin } from './bigquery/bigquery.standin.js';
import { startGcsStandin, type GcsStandin } from './gcs/gcs.standin.js';
import { GcsStorage } from './gcs/object-storage.js';
import type { StandinLog } from './http/server.js';
import { startMetadataServer, type MetadataServer } from './metadata/metadata.standin.js';

/** Options of {@link startGcpStandins}. */
export interface GcpStandinsOptions {
  projectId?: string;
  /** Service accounts by identity name (each gets its own metadata address); `default` is required. */
  serviceAccounts?: { default: string } & Record<string, string>;
  /** Location of BigQuery datasets and jobs. */
  location?: string;
  /** DuckDB file behind BigQuery; in memory by default. */
  bigQueryDatabasePath?: string;
  /** Buckets to create in the GCS stand-in. */
  buckets?: string[];
  /** The objects behind the GCS stand-in (default: a new, empty store). */
  storage?: GcsStorage;
  log?: StandinLog;
}

/** The running stand-ins and how to reach them. */
export interface GcpStandins {
  readonly projectId: string;
  readonly metadata: MetadataServer;
  readonly gcs: GcsStandin;
  readonly bigquery: BigQueryStandin;
  /** Base URLs: `apiEndpoint` of `@google-cloud/storage` and `@google-cloud/bigquery`. */
  readonly endpoints: { gcs: string; bigquery: string; metadataHost: string };
  /**
   * The environment of a process that should reach the stand-ins as a Cloud Run service reaches
   * Google: Application Default Credentials from the metadata server of the given identity, an
   * empty gcloud configuration (no developer credentials or project leak in), and the emulator
   * variables the client libraries read (`STORAGE_EMULATOR_HOST`, `BIGQUERY_EMULATOR_HOST`).
   */
  env(identity?: string): Record<string, string>;
  stop(): Promise<void>;
}

/**
 * Start the metadata server, GCS and BigQuery stand-ins together, BigQuery's load jobs reading
 * GCS's objects and accepting only tokens the metadata server issued.
 */
export async function startGcpStandins(options: GcpStandinsOptions = {}): Promise<GcpStandins> {
  const projectId = options.projectId ?? 'mlops-rehearsal';
  const serviceAccounts = options.serviceAccounts ?? { default: `mlops-runtime@${projectId}.iam.gserviceaccount.com` };
  const log = options.log;
  const gcloudConfig = mkdtempSync(join(tmpdir(), 'gcp-standins-gcloud-'));
  const stops: (() => Promise<void>)[] = [async () => rmSync(gcloudConfig, { recursive: true, force: true })];
  const stop = async () => {
    for (const step of stops.reverse()) await step().catch(() => undefined);
  };
  try {
    const metadata = await startMetadataServer({ projectId, serviceAccounts, ...(log ? { log } : {}) });
    stops.push(() => metadata.stop());
    const storage = options.storage ?? new GcsStorage();
    for (const bucket of options.buckets ?? []) storage.createBucket(bucket, projectId);
    const gcs = await startGcsStandin({ storage, projectId, ...(log ? { log } : {}) });
    stops.push(() => gcs.stop());
    const bigquery = await startBigQueryStandin({
      projectId,
      storage,
      tokenInfo: (token) => metadata.tokenInfo(token),
      ...(options.location ? { location: options.location } : {}),
      ...(options.bigQueryDatabasePath ? { databasePath: options.bigQueryDatabasePath } : {}),
      ...(log ? { log } : {}),
    });
    stops.push(() => bigquery.stop());
    return {
      projectId,
      metadata,
      gcs,
      bigquery,
      endpoints: { gcs: gcs.url, bigquery: bigquery.url, metadataHost: metadata.host },
      env: (identity = 'default') => {
        const host = metadata.hosts[identity];
        if (!host) throw new Error(`no service account "${identity}" among ${Object.keys(metadata.hosts).join(', ')}`);
        return {
          GCE_METADATA_HOST: host,
          CLOUDSDK_CONFIG: gcloudConfig,
          STORAGE_EMULATOR_HOST: gcs.url,
          BIGQUERY_EMULATOR_HOST: `${bigquery.url}/bigquery/v2`,
        };
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
