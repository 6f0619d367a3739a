/**
 * The gcp rehearsal: the whole chain in `MLOPS_MODE=gcp` through Google's client libraries, every
 * service its own process on the HTTP transport, against the emulators and stand-ins; then a
 * poison message; then the same dates in local mode, and the gold tables of both compared.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PubSub } from '@google-cloud/pubsub';
import { engineWarehouseAccess, type VertexStandin } from '@mlops/gcp-standins';
import { tableChecksums } from '@mlops/kernel';
import { FirestoreDocumentStore, PubSubEventBus } from '@mlops/adapters-gcp';
import { freePort } from '@mlops/testing';
import { goldChecksums, mlops } from '../../cli/test/fixtures/stack.harness.js';
import { repoRoot } from '../../cli/src/stack/processes.js';
import { datesBetween, startEvent } from '../../cli/src/start-events.js';
import { RunWatcher, type RunProgress } from '../../cli/src/stack/wait.js';
import { waitForRunsToClose } from './ledger-wait.js';
import { startEngines, type Engines } from './engines.js';
import { startEventarcForwarder, type EventarcForwarder } from './eventarc-forwarder.js';
import type { RehearsalOptions } from './options.js';
import { observeFailures, publishPoison, type ObservedFailure, type Poison } from './poison.js';
import { startServiceProcess, stopServiceProcesses, type ServiceProcess } from './service-processes.js';
import { createTopology, eventarcSubscription, triggersOf } from './topology.js';
import { compareGold, type GoldComparison } from './compare.js';
import { REHEARSAL_IMAGE, startRehearsalVertex } from './vertex.js';

const PROJECT = 'mlops-rehearsal';
const REGION = 'europe-west1';
const LOCATION = 'EU';
const BUCKET = 'mlops-rehearsal-lake';
const PII_KEY = 'rehearsal-pii-key-of-both-runs';
const MAX_ATTEMPTS = 5;

/** The processes of the chain: the services, the dashboard (its run ledger fed by pushes), the relay. */
const PROCESSES = [
  'sales-gen',
  'click-gen',
  'startup-gen',
  'lander',
  'transformer',
  'trainer',
  'dashboard',
  'dead-letters',
];

/** What the rehearsal found. */
export interface RehearsalResult {
  /** The gcp run's ledger when every date closed. */
  progress: RunProgress;
  /** Stages whose service the gcp chain does not run yet (left open in the ledger). */
  notRehearsed: string[];
  /** `stage.failed` of the chain's own runs. */
  chainFailures: ObservedFailure[];
  poisons: { poison: Poison; failures: ObservedFailure[]; pushes: Record<string, number> }[];
  gold: GoldComparison;
  /** The PipelineJobs the Vertex AI stand-in ran for the chain's runs (the poison runs submit none). */
  vertexJobs: ReturnType<VertexStandin['jobs']>;
  /** DuckDB or SQLite files the gcp processes left under their MLOPS_HOME (none expected). */
  localFiles: string[];
  workDir: string;
}

/** Variables a user set for the platform that both runs get (MLOPS_CHURN_HORIZON_DAYS...). */
function userSettings(): Record<string, string> {
  const own = new Set(['MLOPS_MODE', 'MLOPS_HOME', 'MLOPS_TRANSPORT', 'MLOPS_LAKE', 'MLOPS_PII_HMAC_KEY']);
  return Object.fromEntries(
    Object.entries(process.env).filter(
      (entry): entry is [string, string] =>
        entry[0].startsWith('MLOPS_') && !own.has(entry[0]) && entry[1] !== undefined,
    ),
  );
}

/** Run the rehearsal; `say` prints progress lines. */
export async function rehearse(
  options: RehearsalOptions,
  say: (line: string) => void,
  signal?: AbortSignal,
): Promise<RehearsalResult> {
  const workDir = mkdtempSync(join(tmpdir(), 'mlops-rehearse-gcp-'));
  const gcpHome = join(workDir, 'gcp-home');
  const localHome = join(workDir, 'local-home');
  const dates = datesBetween(options.from, options.to);
  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async () => {
    for (const step of cleanups.splice(0).reverse()) await step().catch(() => undefined);
  };
  say(`work folder ${workDir}; ${dates.length} run date(s) ${options.from}..${options.to}`);
  try {
    const forwarder: EventarcForwarder = await startEventarcForwarder(PROJECT);
    cleanups.push(() => forwarder.close());
    // The client needs the emulator's address; the stand-in's completions need the client.
    const sink: { pubsub?: PubSub } = {};
    const engines: Engines = await startEngines({
      projectId: PROJECT,
      region: REGION,
      location: LOCATION,
      bucket: BUCKET,
      workDir,
      dataformDir: join(repoRoot, 'dataform'),
      // What the Cloud Logging sink does: the LogEntry, as JSON, onto dataform-completions.
      onDataformCompletion: async (entry) => {
        await sink.pubsub!.topic('dataform-completions').publishMessage({ json: entry });
      },
      log: (entry) => {
        if (entry.severity === 'ERROR' || entry.severity === 'WARNING') say(`stand-in: ${JSON.stringify(entry)}`);
      },
      announce: say,
    });
    cleanups.push(() => engines.stop());
    const pubsub = new PubSub({
      projectId: PROJECT,
      apiEndpoint: engines.pubsub.host,
      emulatorMode: true,
      credentials: { client_email: 'rehearsal@localhost', private_key: 'unused' },
    });
    sink.pubsub = pubsub;
    cleanups.push(() => pubsub.close());

    // Every process: gcp mode on HTTP, reaching Google's APIs through the official variables only.
    const settings = {
      ...userSettings(),
      MLOPS_MODE: 'gcp',
      MLOPS_TRANSPORT: 'http',
      MLOPS_HOME: gcpHome,
      GOOGLE_CLOUD_PROJECT: PROJECT,
      MLOPS_REGION: REGION,
      MLOPS_LAKE: `gs://${BUCKET}`,
      MLOPS_BIGQUERY_LOCATION: LOCATION,
      MLOPS_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
      MLOPS_GCP_EMULATORS: 'true',
      PUBSUB_EMULATOR_HOST: engines.pubsub.host,
      FIRESTORE_EMULATOR_HOST: engines.firestore.host,
      // The metadata stand-in answers at once: skip the detection ping, which times out on a busy machine.
      METADATA_SERVER_DETECTION: 'assume-present',
    };
    // The storage library takes this variable as its base URL verbatim: with the JSON API's path.
    const storageHost = { STORAGE_EMULATOR_HOST: `${engines.standins.endpoints.gcs}/storage/v1` };
    const vertex = await startRehearsalVertex({
      projectId: PROJECT,
      region: REGION,
      // Each step as the pipeline steps' account; the spec's container env (mode, lake, datasets) on top.
      env: { ...settings, ...engines.standins.env('vertex-steps'), ...storageHost },
      gcsMount: join(workDir, 'gcs'),
      // What the Cloud Logging sink does: the LogEntry, as JSON, onto vertex-completions.
      onLogEntry: async (entry) => {
        await pubsub.topic('vertex-completions').publishMessage({ json: entry });
      },
      log: (entry) => {
        if (entry.severity === 'ERROR' || entry.severity === 'WARNING')
          say(`vertex stand-in: ${JSON.stringify(entry)}`);
      },
    });
    cleanups.push(() => vertex.close());
    const only: Record<string, Record<string, string>> = {
      'sales-gen': { MLOPS_PII_HMAC_KEY: PII_KEY },
      transformer: {
        DATAFORM_REPOSITORY: 'mlops',
        DATAFORM_GIT_COMMITISH: 'main',
        DATAFORM_API_ENDPOINT: engines.dataform.url,
        MLOPS_SERVICE_ACCOUNT: `mlops-dataform@${PROJECT}.iam.gserviceaccount.com`,
      },
      // As infra/main.tf: the jobs run as the steps' account, artifacts under the lake's pipeline root.
      trainer: {
        VERTEX_API_ENDPOINT: vertex.endpoint,
        VERTEX_PIPELINE_ROOT: `gs://${BUCKET}/mlops/pipeline-root`,
        MLOPS_IMAGE: REHEARSAL_IMAGE,
        MLOPS_SERVICE_ACCOUNT: `mlops-vertex-steps@${PROJECT}.iam.gserviceaccount.com`,
      },
    };
    const ports = Object.fromEntries(await Promise.all(PROCESSES.map(async (name) => [name, await freePort()])));
    say(`starting ${PROCESSES.join(', ')} (gcp mode, HTTP transport, one process each)`);
    const services: ServiceProcess[] = await Promise.all(
      PROCESSES.map((name) =>
        startServiceProcess(
          name,
          ports[name]!,
          {
            ...settings,
            ...engines.standins.env(name),
            ...storageHost,
            ...(only[name] ?? {}),
          },
          join(workDir, 'logs'),
        ),
      ),
    );
    cleanups.push(() => stopServiceProcesses(services));
    const subscriptions = await createTopology(pubsub, triggersOf(PROCESSES), {
      region: REGION,
      maxDeliveryAttempts: MAX_ATTEMPTS,
      targets: Object.fromEntries(services.map((service) => [service.name, service.url])),
      forwarder,
      retry: { minimumBackoffSeconds: 1, maximumBackoffSeconds: 10 },
    });
    say(`created ${subscriptions.size} Eventarc push subscriptions, the dead-letter and completion topics`);
    const observer = await observeFailures(pubsub);
    cleanups.push(() => observer.close());

    // The scheduler's start events (as `mlops backfill` publishes them), then the ledger until every date closed.
    const bus = new PubSubEventBus({ projectId: PROJECT, emulatorHost: engines.pubsub.host });
    cleanups.push(() => bus.close());
    const documents = new FirestoreDocumentStore({ projectId: PROJECT, emulatorHost: engines.firestore.host });
    cleanups.push(() => documents.close());
    const since = new Date();
    const runIds = new Set<string>();
    for (const runDate of dates) {
      const event = startEvent({
        runDate,
        trigger: 'backfill',
        backfill: { from: options.from, to: options.to },
        ...(options.scale !== undefined ? { scale: options.scale } : {}),
        ...(options.seed !== undefined ? { seed: options.seed } : {}),
      });
      runIds.add(event.runid);
      await bus.publish(event);
    }
    say(`published ${dates.length} pipeline.started event(s); waiting for the run ledger to close every date`);
    const watcher = new RunWatcher({ documents }, runIds, since);
    const notRehearsed = PROCESSES.includes('trainer') ? [] : ['trainer'];
    const progress = await waitForRunsToClose(watcher, {
      runIds,
      notRehearsed: new Set(notRehearsed),
      timeoutS: options.timeoutS,
      ...(signal ? { signal } : {}),
      say,
    }).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}; logs in ${join(workDir, 'logs')} (--keep keeps them)`);
    });
    say(
      `gcp run: every date closed after ${((Date.now() - since.getTime()) / 1000).toFixed(0)} s (${progress.done}/${progress.total} stages)${progress.failed ? ', with failures' : ''}`,
    );
    const chainFailures = observer.failures.filter((failure) => runIds.has(failure.runid));

    const poisons: RehearsalResult['poisons'] = [];
    if (options.poison) {
      for (const kind of ['too-large', 'invalid'] as const) {
        const poison = await publishPoison(pubsub, kind, options.to);
        say(`poison (${kind}) published under run ${poison.runid}; waiting for its stage.failed`);
        const mine = () => observer.failures.filter((failure) => failure.runid === poison.runid);
        const waitUntil = Date.now() + 180_000;
        // Every consumer of the topic (the lander and the ledger) announces it once; then a while for duplicates.
        while (mine().length < 2 && Date.now() < waitUntil && !signal?.aborted)
          await new Promise((resolve) => setTimeout(resolve, 500));
        await new Promise((resolve) => setTimeout(resolve, 5_000));
        const pushes: Record<string, number> = {};
        for (const service of ['lander', 'dashboard']) {
          const name = eventarcSubscription(REGION, { service, topic: 'sales-generated' });
          pushes[service] = [...(forwarder.counts.get(name) ?? new Map<number, number>()).entries()]
            .filter(([status]) => status === 413)
            .reduce((sum, [, n]) => sum + n, 0);
        }
        poisons.push({ poison, failures: mine(), pushes });
      }
    }

    const gcpChecksums = await engineWarehouseAccess(engines.standins.bigquery.engine).read((warehouse) =>
      tableChecksums(warehouse, { schemas: ['warehouse'] }),
    );
    const vertexJobs = vertex.jobs();
    await cleanup();
    const localFiles = readdirSync(gcpHome, { recursive: true, encoding: 'utf8' }).filter((file) =>
      /\.(duckdb|sqlite)(-wal|-shm|\.wal|\.lock)?$/.test(file),
    );

    say(`local mode: mlops backfill --from ${options.from} --to ${options.to} in ${localHome}`);
    const localStarted = Date.now();
    const local = await mlops(
      [
        'backfill',
        '--from',
        options.from,
        '--to',
        options.to,
        ...(options.seed !== undefined ? ['--seed', String(options.seed)] : []),
        ...(options.scale !== undefined ? ['--scale', String(options.scale)] : []),
      ],
      { ...userSettings(), MLOPS_HOME: localHome, MLOPS_PII_HMAC_KEY: PII_KEY },
    );
    say(`local mode: done after ${((Date.now() - localStarted) / 1000).toFixed(0)} s`);
    if (local.code !== 0) throw new Error(`the local run failed (exit ${local.code}):\n${local.stderr.slice(-3000)}`);
    const gold = compareGold(await goldChecksums(localHome), gcpChecksums, !notRehearsed.includes('trainer'));
    return { progress, notRehearsed, chainFailures, poisons, gold, vertexJobs, localFiles, workDir };
  } finally {
    await cleanup();
    if (!options.keep) rmSync(workDir, { recursive: true, force: true });
  }
}
