/**
 * The engines of the rehearsal, all on loopback: the Pub/Sub and Firestore emulators of the Cloud
 * SDK, and the stand-ins of `@mlops/gcp-standins` (metadata server, GCS, BigQuery, Dataform), with
 * what Terraform would have created in them (the lake bucket, the BigQuery datasets).
 *
 * Dataform builds in the BigQuery stand-in's own database, so BigQuery jobs read what it built. It
 * reads bronze as local files (the DuckDB runner's views over the lake), so the lake bucket's
 * `bronze/` objects are mirrored to a folder as they are written: the stand-in's counterpart of
 * the BigQuery external tables over the bucket.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { BigQuery } from '@google-cloud/bigquery';
import {
  engineWarehouseAccess,
  GcsStorage,
  startDataformStandin,
  startGcpStandins,
  type DataformStandin,
  type GcpStandins,
  type StandinLog,
} from '@mlops/gcp-standins';
import { startEmulator, type RunningEmulator } from '@mlops/testing';

/** A GCS store that also writes a bucket's `bronze/` objects to a folder, in the same step. */
class MirroredStorage extends GcsStorage {
  constructor(
    private readonly bucketName: string,
    private readonly folder: string,
  ) {
    super();
  }

  private path(bucketName: string, name: string): string | undefined {
    return bucketName === this.bucketName && name.startsWith('bronze/') ? join(this.folder, name) : undefined;
  }

  override write(...args: Parameters<GcsStorage['write']>): ReturnType<GcsStorage['write']> {
    const object = super.write(...args);
    const path = this.path(args[0], args[1]);
    if (path) {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, object.data);
    }
    return object;
  }

  override delete(...args: Parameters<GcsStorage['delete']>): void {
    super.delete(...args);
    const path = this.path(args[0], args[1]);
    if (path) rmSync(path, { force: true });
  }
}

/** Options of {@link startEngines}. */
export interface EngineOptions {
  projectId: string;
  region: string;
  location: string;
  bucket: string;
  /** Scratch folder (the bronze mirror). */
  workDir: string;
  /** The Dataform project compiled and run. */
  dataformDir: string;
  /** Receives the completion LogEntry of every workflow invocation (the log sink's job). */
  onDataformCompletion: (entry: Record<string, unknown>) => Promise<void>;
  log: StandinLog;
  announce: (line: string) => void;
}

/** The running engines. */
export interface Engines {
  pubsub: RunningEmulator;
  firestore: RunningEmulator;
  standins: GcpStandins;
  dataform: DataformStandin;
  stop(): Promise<void>;
}

/** The service accounts of `infra/iam.tf` the rehearsal's processes run as. */
export function serviceAccounts(projectId: string): { default: string } & Record<string, string> {
  const account = (name: string) => `mlops-${name}@${projectId}.iam.gserviceaccount.com`;
  return {
    default: account('runtime'),
    ...Object.fromEntries(
      ['sales-gen', 'click-gen', 'startup-gen', 'lander', 'transformer', 'trainer', 'dashboard', 'dead-letters'].map(
        (name) => [name, account(name)],
      ),
    ),
    dataform: account('dataform'),
    // The Vertex AI pipeline steps' own account (the trainer's MLOPS_SERVICE_ACCOUNT).
    'vertex-steps': account('vertex-steps'),
  };
}

/**
 * Create a resource, retried up to 5 times: on a busy machine the token request to the metadata
 * stand-in can time out. One that exists after a retry was created by an attempt whose answer was lost.
 */
async function created(create: () => Promise<unknown>): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await create();
      return;
    } catch (error) {
      if (attempt > 1 && /already exists/i.test(String(error))) return;
      if (attempt >= 5 || /already exists/i.test(String(error))) throw error;
      await new Promise((resolve) => setTimeout(resolve, 1000 * attempt));
    }
  }
}

/** Start every engine; stops what started when one fails. */
export async function startEngines(options: EngineOptions): Promise<Engines> {
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const step of stops.splice(0).reverse()) await step().catch(() => undefined);
  };
  try {
    const announce = options.announce;
    const [pubsub, firestore] = await Promise.all([
      startEmulator('pubsub', { announce }),
      startEmulator('firestore', { announce }),
    ]);
    stops.push(
      () => pubsub.stop(),
      () => firestore.stop(),
    );
    const storage = new MirroredStorage(options.bucket, join(options.workDir, 'lake-mirror'));
    const standins = await startGcpStandins({
      projectId: options.projectId,
      serviceAccounts: serviceAccounts(options.projectId),
      location: options.location,
      buckets: [options.bucket],
      storage,
      log: options.log,
    });
    stops.push(() => standins.stop());
    // Terraform's datasets (infra/data.tf), created through the official client as the stand-in's caller.
    const { STORAGE_EMULATOR_HOST: _lake, ...clientEnv } = standins.env();
    const saved = { ...process.env };
    Object.assign(process.env, clientEnv, { METADATA_SERVER_DETECTION: 'assume-present' });
    try {
      const bigquery = new BigQuery({ projectId: options.projectId });
      for (const dataset of ['bronze', 'staging', 'warehouse', 'assertions'])
        await created(() => bigquery.createDataset(dataset, { location: options.location }));
    } finally {
      for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
      Object.assign(process.env, saved);
    }
    const dataform = await startDataformStandin({
      projectId: options.projectId,
      location: options.region,
      projectDir: options.dataformDir,
      lakeRoot: join(options.workDir, 'lake-mirror'),
      warehouse: engineWarehouseAccess(standins.bigquery.engine),
      onCompletion: options.onDataformCompletion,
      log: options.log,
    });
    stops.push(() => dataform.stop());
    return { pubsub, firestore, standins, dataform, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
