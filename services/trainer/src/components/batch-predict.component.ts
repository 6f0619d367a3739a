/**
 * `batch_predict`: score the customers still active at each snapshot date (an order within the
 * horizon; lapsed customers are a win-back figure, not scored) and write the scores to
 * `warehouse.fact_predictions_churn`, one row per customer, snapshot and model version.
 *
 * Point in time: each snapshot is scored by the champion of its time — the latest champion (as of
 * the triggering event) whose training data ended on or before the snapshot. A snapshot older
 * than every such champion (a backfill, or history before the first champion) is scored by the
 * champion as of the event and marked `is_backfilled`. When the run made the model's first
 * champion, every earlier snapshot of the feature table is scored too (all backfilled), so the
 * history before the first champion is not left empty.
 *
 * `predicted_at` is a parameter (the triggering event's time), so running the step again for the
 * same event writes identical rows. Risk bands: `high` when the probability is at least
 * `high_threshold` (0.6 by default), `medium` when at least `medium_threshold` (0.3), else `low`.
 */
import { isDate } from '../data/dates.js';
import { scoreInEngine } from '../data/predictions.in-engine.js';
import {
  ensurePredictionsTable,
  replaceScores,
  scoreVersion,
  transactionsOf,
  type ScoreRequest,
  type SnapshotScores,
  type VersionScores,
} from '../data/predictions.table.js';
import { resolveTables } from '../data/warehouse-tables.js';
import { TrainerErrors } from '../errors.js';
import { scorersAt, type ScorerAssignment } from '../registry/champion-at.js';
import { columnScorer, type ColumnScorer } from '../scoring/compiled-forest.js';
import { defineComponent, type Shape } from './component.js';
import { RECENCY_COLUMN, featureColumns } from './features.component.js';
import { loadRegisteredModel } from './register.component.js';

export { PREDICTIONS_TABLE } from '../data/predictions.table.js';

/** Default risk-band thresholds on the churn probability. */
export const DEFAULT_RISK_THRESHOLDS = { medium: 0.3, high: 0.6 } as const;

/** A probability's risk band. */
export function riskBand(probability: number, thresholds: { medium: number; high: number }): 'low' | 'medium' | 'high' {
  if (probability >= thresholds.high) return 'high';
  if (probability >= thresholds.medium) return 'medium';
  return 'low';
}

/** What one snapshot's prediction wrote. */
export interface SnapshotPredictions {
  snapshotDate: string;
  modelVersion: string;
  /** Scored by a model trained after the snapshot. */
  backfilled: boolean;
  rows: number;
  riskBands: { low: number; medium: number; high: number };
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isSnapshotPredictions(value: unknown): value is SnapshotPredictions {
  if (typeof value !== 'object' || value === null) return false;
  const { snapshotDate, modelVersion, backfilled, rows, riskBands } = value as Partial<Record<string, unknown>>;
  if (typeof riskBands !== 'object' || riskBands === null) return false;
  const { low, medium, high } = riskBands as Partial<Record<string, unknown>>;
  return (
    isDate(snapshotDate) &&
    typeof modelVersion === 'string' &&
    typeof backfilled === 'boolean' &&
    isCount(rows) &&
    isCount(low) &&
    isCount(medium) &&
    isCount(high)
  );
}

/** The `predictions` output: what each snapshot's prediction wrote. */
export const SNAPSHOT_PREDICTIONS: Shape<SnapshotPredictions[]> = {
  describe: '{snapshotDate, modelVersion, backfilled, rows, riskBands {low, medium, high}}',
  is: (value): value is SnapshotPredictions[] => Array.isArray(value) && value.every(isSnapshotPredictions),
};

function thresholdsOf(medium: number, high: number): { medium: number; high: number } {
  if (!(medium > 0 && medium < high && high < 1)) {
    throw TrainerErrors.invalidSetting(
      'risk thresholds',
      `must satisfy 0 < medium < high < 1 (got medium ${medium}, high ${high})`,
    );
  }
  return { medium, high };
}

export const batchPredictComponent = defineComponent({
  name: 'batch_predict',
  description:
    'Score the active customers of the snapshot dates with the champion of each snapshot’s time; one row per customer, snapshot and model version in fact_predictions_churn.',
  io: {
    parameters: {
      model_name: { type: 'STRING', description: 'Registry name of the model.' },
      model_version: {
        type: 'STRING',
        description: 'The champion as of the triggering event; empty: nothing to score yet.',
      },
      first_champion: {
        type: 'BOOLEAN',
        description: 'The run made the first champion: score every earlier snapshot of the feature table too.',
      },
      snapshot_dates: { type: 'LIST', description: 'Snapshot dates (YYYY-MM-DD) to score.' },
      predicted_at: {
        type: 'STRING',
        description: 'The triggering event time: written on every row, and the moment whose champions score.',
      },
      horizon_days: {
        type: 'NUMBER_INTEGER',
        description: 'Customers with an order within this many days are scored.',
      },
      feature_table: { type: 'STRING', description: 'Point-in-time feature table.' },
      warehouse_schema: { type: 'STRING', description: 'Schema (BigQuery dataset) of the gold tables.' },
      medium_threshold: { type: 'NUMBER_DOUBLE', description: 'Probability from which a customer is medium risk.' },
      high_threshold: { type: 'NUMBER_DOUBLE', description: 'Probability from which a customer is high risk.' },
    },
    artifacts: {},
    outputParameters: {
      model_version: {
        type: 'STRING',
        description: 'The champion as of the event (empty: no champion, nothing written).',
      },
      predictions: {
        type: 'LIST',
        description: 'Per snapshot: snapshotDate, modelVersion, backfilled, rows, riskBands {low, medium, high}.',
        shape: SNAPSHOT_PREDICTIONS,
      },
    },
    outputArtifacts: {},
  },
  async run({ params }, deps) {
    const thresholds = thresholdsOf(params.medium_threshold, params.high_threshold);
    const requested = params.snapshot_dates.map((value) => {
      if (!isDate(value))
        throw TrainerErrors.invalidSetting(
          'snapshot_dates',
          `must hold dates (YYYY-MM-DD); got ${JSON.stringify(value)}`,
        );
      return value;
    });
    const champion = params.model_version
      ? await deps.registry.get(params.model_name, params.model_version)
      : undefined;
    if (params.model_version && !champion) {
      throw TrainerErrors.invalidComponentIo(
        'batch_predict',
        `model ${params.model_name} has no version ${params.model_version} in the registry`,
      );
    }
    if (!champion || requested.length === 0) {
      deps.log.info(
        champion
          ? 'batch_predict: no snapshot dates to score'
          : `batch_predict: no ${params.model_name} champion to score with yet; nothing scored`,
      );
      return { model_version: champion?.version ?? '', predictions: [] };
    }
    const session = (what: string) => ({ purpose: `trainer: ${what}`, log: deps.log });
    // The features are looked at in a read session; the scoring transaction (bulk numeric reads and
    // appends) runs in a write session of its own.
    const { available, dates } = await deps.warehouse.read(
      async (warehouse) => {
        const tables = await resolveTables(warehouse, params.warehouse_schema);
        const available = featureColumns(tables, params.feature_table);
        let dates = [...new Set(requested)].sort();
        if (params.first_champion) {
          const last = dates.at(-1)!;
          const history = await warehouse.query<{ d: string }>(
            `select distinct cast(snapshot_date as string) as d from ${tables.table(params.feature_table)} where snapshot_date <= cast(? as date) order by 1`,
            [last],
          );
          dates = [...new Set([...dates, ...history.map((row) => row.d)])].sort();
        }
        return { available, dates };
      },
      session(`features to score as of ${params.predicted_at}`),
    );
    const { assignments, versions } = await scorersAt(deps.registry, params.model_name, params.predicted_at, dates);
    const groups = new Map<string, ScorerAssignment[]>();
    for (const assignment of assignments)
      groups.set(assignment.version, [...(groups.get(assignment.version) ?? []), assignment]);
    const scorers = new Map<string, ColumnScorer>();
    for (const version of groups.keys()) {
      const model = await loadRegisteredModel(deps.objects, versions.get(version)!);
      const missing = model.featureNames.filter((name) => !available.includes(name));
      if (missing.length > 0) {
        throw TrainerErrors.invalidComponentIo(
          'batch_predict',
          `the model ${version} needs features the table ${params.feature_table} lacks: ${missing.join(', ')}`,
        );
      }
      scorers.set(version, columnScorer(model));
    }
    const started = performance.now();
    const timings = { readMs: 0, scoreMs: 0, writeMs: 0 };
    const requestOf = (version: string, group: ScorerAssignment[]): ScoreRequest => ({
      scorer: scorers.get(version)!,
      modelVersion: version,
      modelDataTo: versions.get(version)!.dataRange.to,
      featureTable: params.feature_table,
      recencyColumn: RECENCY_COLUMN,
      horizonDays: params.horizon_days,
      dates: group.map((a) => a.date),
      thresholds,
    });
    const outputOf = (version: string, snapshots: readonly SnapshotScores[]): SnapshotPredictions[] => {
      const backfilled = new Map(groups.get(version)!.map((a) => [a.date, a.backfilled]));
      return snapshots.map((snapshot) => ({
        ...snapshot,
        modelVersion: version,
        backfilled: backfilled.get(snapshot.snapshotDate)!,
      }));
    };
    let inEngine = false;
    // One write session. Where the engine calls the model from SQL (DuckDB), one transaction
    // replaces every version's rows with set-based statements that score as they insert. Elsewhere
    // each version's snapshots are read and scored first, then transactions replace the rows (on
    // BigQuery, rows that carry their keys go in transactions of whole snapshots, each within the
    // size of a request).
    const results = await deps.warehouse.write(
      async (warehouse) => {
        const tables = await resolveTables(warehouse, params.warehouse_schema);
        await ensurePredictionsTable(warehouse, tables);
        const out: SnapshotPredictions[] = [];
        if (warehouse.withNumberFunction) {
          inEngine = true;
          const writing = performance.now();
          await warehouse.transaction(async (tx) => {
            let index = 0;
            for (const [version, group] of groups) {
              const scores = await scoreInEngine(tx, tables, requestOf(version, group), index++, params.predicted_at);
              timings.scoreMs += scores.scoreMs;
              out.push(...outputOf(version, scores.snapshots));
            }
          });
          timings.writeMs = performance.now() - writing - timings.scoreMs;
          return out;
        }
        const scored: VersionScores[] = [];
        for (const [version, group] of groups) {
          const scores = await scoreVersion(warehouse, tables, requestOf(version, group));
          timings.readMs += scores.timings.readMs;
          timings.scoreMs += scores.timings.scoreMs;
          scored.push(scores);
        }
        const writing = performance.now();
        for (const transaction of transactionsOf(scored))
          await warehouse.transaction(async (tx) => {
            for (const [index, scores] of transaction.entries())
              await replaceScores(tx, tables, scores, index, params.predicted_at);
          });
        timings.writeMs = performance.now() - writing;
        for (const scores of scored) out.push(...outputOf(scores.request.modelVersion, scores.snapshots));
        return out;
      },
      session(`predictions as of ${params.predicted_at}`),
    );
    const predictions = results.sort((a, b) => a.snapshotDate.localeCompare(b.snapshotDate));
    const total = predictions.reduce((sum, p) => sum + p.rows, 0);
    const backfilled = predictions.filter((p) => p.backfilled).length;
    const split = inEngine
      ? `scored in the engine: model ${Math.round(timings.scoreMs)}, read and write ${Math.round(timings.writeMs)}`
      : `read ${Math.round(timings.readMs)}, score ${Math.round(timings.scoreMs)}, write ${Math.round(timings.writeMs)}`;
    deps.log.info(
      `batch_predict: ${total} rows over ${predictions.length} snapshot(s) (${backfilled} backfilled) by ${groups.size} version(s) in ${Math.round(performance.now() - started)} ms (${split})`,
      {
        rows: total,
        modelVersion: champion.version,
        versions: [...groups.keys()],
        inEngine,
        ...timings,
      },
    );
    return { model_version: champion.version, predictions };
  },
});
