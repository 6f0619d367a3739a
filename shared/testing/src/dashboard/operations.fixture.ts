/**
 * The operational stores the dashboard reads, filled as a running platform would fill them: the
 * run ledger (real events of every stage, recorded by the ledger observer's own `record`), the
 * model registry (versions, promotions, feature importance) and dead letters on the local bus.
 * Real SQLite adapters, in a temp folder.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import {
  type AnyEvent,
  type EventDataMap,
  type EventType,
  type ModelVersion,
  createEvent,
  ModelRegistry,
  RunLedger,
  validateEvent,
} from '@mlops/kernel';
import { SqliteDocumentStore, SqliteEventBus } from '@mlops/adapters-local';

/** Options of {@link buildOperations}. */
export interface OperationsFixtureOptions {
  /** Run dates, oldest first; one run each. */
  runDates: readonly string[];
  /** Run dates whose transform fails an assertion. */
  failedRunDates?: readonly string[];
  /** The last run stops after sales generation (still running). */
  lastRunInProgress?: boolean;
  /** Train a model every N runs (default 7). */
  trainEveryRuns?: number;
  hostile?: {
    deadLetterReason: string;
    stageReason: string;
    featureName: string;
    eventSubject: string;
    promotionReason: string;
  };
}

/** The filled stores. */
export interface OperationsFixture {
  documents: SqliteDocumentStore;
  bus: SqliteEventBus;
  ledger: RunLedger;
  registry: ModelRegistry;
  /** Model versions registered, oldest first, and which became champion. */
  versions: ModelVersion[];
  championVersion: string;
  close(): Promise<void>;
}

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

/** Build the stores in `folder`. */
export async function buildOperations(folder: string, options: OperationsFixtureOptions): Promise<OperationsFixture> {
  const documents = new SqliteDocumentStore({ path: join(folder, 'documents.sqlite') });
  const bus = new SqliteEventBus({ path: join(folder, 'bus.sqlite') });
  const ledger = new RunLedger(documents);
  const registry = new ModelRegistry(documents);
  const failed = new Set(options.failedRunDates ?? []);
  const every = options.trainEveryRuns ?? 7;
  const hostile = options.hostile;
  const versions: ModelVersion[] = [];
  let champion: ModelVersion | undefined;
  const events: AnyEvent[] = [];

  for (const [index, runDate] of options.runDates.entries()) {
    const runid = `run_${runDate.replaceAll('-', '')}_020000_${String(index).padStart(4, '0')}`;
    const t0 = Date.parse(`${runDate}T00:00:00Z`) + 86_400_000 + 2 * 3_600_000;
    const emit = <K extends EventType>(
      type: K,
      source: string,
      seconds: number,
      data: EventDataMap[K],
      subject?: string,
    ) => {
      events.push(
        validateEvent(
          createEvent(type, data, {
            source: `//mlops/${source}`,
            runid,
            rundate: runDate,
            time: new Date(t0 + seconds * 1000),
            ...(subject ? { subject } : {}),
          }) as AnyEvent,
        ),
      );
    };
    const last = index === options.runDates.length - 1;
    emit('mlops.pipeline.started.v1', 'scheduler', 0, { runDate, trigger: 'schedule' });
    emit(
      'mlops.sales.generated.v1',
      'sales-gen',
      12 + (index % 5),
      { runDate, collection: 'sales', documentCount: 1000 + index, dirtyCount: 10 },
      `sales/${runDate}`,
    );
    if (last && options.lastRunInProgress) continue;
    const landed = (source: 'sales' | 'clickstream' | 'startups', producer: string, seconds: number, rows: number) =>
      emit(
        'mlops.bronze.landed.v1',
        producer,
        seconds,
        {
          runDate,
          source,
          format: source === 'sales' ? 'parquet' : 'jsonl',
          prefix: `bronze/${source}/dt=${runDate}/`,
          objects: [
            {
              key: `bronze/${source}/dt=${runDate}/part-0000.${source === 'sales' ? 'parquet' : 'jsonl'}`,
              bytes: rows * 100,
              sha256: sha(`${source}${runDate}`),
              rows,
            },
          ],
          rowCount: rows,
          bytes: rows * 100,
          contentHash: sha(`${source}${runDate}hash`),
          loadType: source === 'startups' ? (index === 0 ? 'full' : 'delta') : 'daily',
        },
        index === options.runDates.length - 2 && source === 'clickstream' && hostile
          ? hostile.eventSubject
          : `${source}/${runDate}`,
      );
    landed('clickstream', 'click-gen', 18, 5000 + index);
    landed('sales', 'lander', 30 + (index % 7), 1000 + index);
    if (index % 7 === 0) landed('startups', 'startup-gen', 22, 1000);
    else
      emit('mlops.stage.skipped.v1', 'startup-gen', 1, {
        stage: 'startup-gen',
        code: 'STARTUP_GEN.NOT_DUE',
        reason: `no startups load is due on ${runDate}`,
        runDates: [runDate],
      });
    if (failed.has(runDate)) {
      emit('mlops.stage.failed.v1', 'transformer', 80, {
        stage: 'transformer',
        code: 'TRANSFORMER.ASSERTION_FAILED',
        reason: hostile?.stageReason ?? 'fct_sales_assertions_uniqueKey_0 failed: 3 rows',
        runDates: [runDate],
      });
      continue;
    }
    const quarantineRows = 5 + (index % 11);
    emit('mlops.warehouse.ready.v1', 'transformer', 75 + (index % 9), {
      runDates: [runDate],
      tables: [{ name: 'warehouse.fct_sales', rows: 1000 * (index + 1) }],
      quarantine: [
        { table: 'staging.quarantine_sales', rows: quarantineRows },
        { table: 'staging.quarantine_clickstream', rows: index % 3 },
      ],
      assertions: [
        { name: 'fct_sales_assertions_uniqueKey_0', passed: true, failingRows: 0 },
        { name: 'dim_customer_assertions_nonNull_0', passed: true, failingRows: 0 },
      ],
      engine: 'duckdb',
      durationMs: 40_000 + index * 10,
    });
    if (index % every === 0) {
      const fingerprint = sha(`model${runDate}`);
      const version = ModelRegistry.versionFor(fingerprint);
      const rocAuc = 0.7 + Math.min(0.2, versions.length * 0.03) - (versions.length % 3 === 2 ? 0.05 : 0);
      const model: ModelVersion = {
        modelName: 'churn',
        version,
        fingerprint,
        createdAt: new Date(t0 + 140_000).toISOString(),
        algorithm: 'gbdt-hist',
        dataRange: { from: options.runDates[0]!, to: runDate },
        dataFingerprint: sha(`data${runDate}`),
        trainingRows: 10_000 + index * 100,
        holdoutRows: 2_000,
        holdoutRange: { from: runDate, to: runDate },
        params: { maxDepth: 6, learningRate: 0.1 },
        metrics: { rocAuc, prAuc: rocAuc - 0.25, logLoss: 0.5 - rocAuc / 4 },
        baselineMetrics: { rocAuc: 0.68, prAuc: 0.4, logLoss: 0.5 },
        featureImportance: [
          { feature: hostile?.featureName ?? 'days_since_last_order', gain: 120, splits: 40 },
          { feature: 'orders_90d', gain: 80, splits: 33 },
          { feature: 'sessions_trend_28d', gain: 45, splits: 21 },
          { feature: 'revenue_90d_usd', gain: 30, splits: 18 },
          { feature: 'tenure_days', gain: 12, splits: 9 },
        ],
        codeVersion: 'test',
        artifactUri: `mlops/models/churn/${version}.json`,
      };
      await registry.register(model);
      versions.push(model);
      const promoted = !champion || rocAuc > champion.metrics.rocAuc;
      if (promoted) {
        await registry.promote({
          modelName: 'churn',
          version,
          previousChampion: champion?.version ?? null,
          promotedAt: new Date(t0 + 145_000).toISOString(),
          reason:
            hostile && champion
              ? hostile.promotionReason
              : champion
                ? 'beat the champion on the holdout'
                : 'first model',
          challengerRocAuc: rocAuc,
          championRocAuc: champion?.metrics.rocAuc ?? null,
        });
        champion = model;
      }
      emit('mlops.model.trained.v1', 'trainer', 150, {
        modelName: 'churn',
        version,
        fingerprint,
        dataRange: model.dataRange,
        metrics: { rocAuc, prAuc: rocAuc - 0.25, logLoss: 0.3 },
        promoted,
        championVersion: champion!.version,
        artifactUri: model.artifactUri,
      });
    }
    if (champion)
      emit('mlops.predictions.ready.v1', 'trainer', 170, {
        snapshotDate: runDate,
        modelVersion: champion.version,
        table: 'warehouse.fact_predictions_churn',
        rows: 1000,
        riskBands: { low: 700, medium: 200, high: 100 },
      });
  }
  for (const event of events) await ledger.record(event);

  await bus.ensureSubscription({ name: 'transformer.bronze-landed', topic: 'bronze-landed' });
  await bus.ensureSubscription({ name: 'trainer.warehouse-ready', topic: 'warehouse-ready' });
  const message = {
    data: new TextEncoder().encode('{"not":"an event"}'),
    attributes: { 'ce-type': 'mlops.bronze.landed.v1' },
  };
  await bus.deadLetter(message, {
    subscription: 'transformer.bronze-landed',
    topic: 'bronze-landed',
    code: 'EVENT.SCHEMA_VIOLATION',
    reason: hostile?.deadLetterReason ?? 'data must have required property runDate',
    attempts: 1,
  });
  await bus.deadLetter(message, {
    subscription: 'trainer.warehouse-ready',
    topic: 'warehouse-ready',
    code: 'TRAINER.NO_DATA',
    reason: 'no features for the snapshot',
    attempts: 5,
  });

  return {
    documents,
    bus,
    ledger,
    registry,
    versions,
    championVersion: champion?.version ?? 'v-000000000000',
    async close() {
      await bus.close();
      await documents.close();
    },
  };
}
