/**
 * Batch prediction as set-based statements, where the engine can call the model from SQL
 * (`withNumberFunction`: DuckDB). Inside the caller's transaction, one version's rows of its
 * snapshots are replaced by one `insert ... select` whose scores the engine asks of the compiled
 * model a data chunk at a time, column-major: features never cross into JavaScript as rows, and
 * no key or row id comes back out. The rows written are those of `scoreVersion` + `replaceScores`
 * (same features cast the same way, same scorer, same bands and times), to the bit.
 */
import type { NumberFunction, WarehouseTransaction } from '@mlops/kernel';
import { TrainerErrors } from '../errors.js';
import {
  PREDICTIONS_TABLE,
  dayNumber,
  rewriteVersionRows,
  type ScoreRequest,
  type SnapshotScores,
} from './predictions.table.js';
import { float64Of, parameterList, type WarehouseTables } from './warehouse-tables.js';

/**
 * Widest spread of the asked snapshots' YYYYMMDD numbers the tally's lookup spans (4 MB; about a
 * century); wider, the bands are counted from the table instead.
 */
const MAX_DAY_SPAN = 1 << 20;

/** What one version's in-engine scoring wrote, and the time spent in the model. */
export interface InEngineScores {
  snapshots: SnapshotScores[];
  rows: number;
  scoreMs: number;
}

/**
 * Replace the request's version's rows of its snapshots, scoring in the engine. `index` names the
 * temporary table apart from the transaction's other calls.
 */
export async function scoreInEngine(
  tx: WarehouseTransaction,
  tables: WarehouseTables,
  request: ScoreRequest,
  index: number,
  predictedAt: string,
): Promise<InEngineScores> {
  if (!tx.withNumberFunction)
    throw TrainerErrors.invalidComponentIo('batch_predict', 'this warehouse cannot call the model from SQL');
  const { scorer } = request;
  const { dialect } = tables;
  const types = new Map(tables.columns(request.featureTable).map((column) => [column.name, column.type]));
  const predictions = tables.table(PREDICTIONS_TABLE);
  const dates = parameterList(request.dates);
  const version = [request.modelVersion, ...request.dates];
  let scoreMs = 0;
  // What the statement writes, per snapshot and band, tallied as the rows are scored: the callback
  // sees every row the insert writes, once (its last argument is the row's snapshot as YYYYMMDD).
  // Rows of many snapshots share a chunk, so the tally is typed-array arithmetic, no lookup by key:
  // a snapshot's three counters (low, medium, high) start at `slotOf[YYYYMMDD - firstDay]`.
  const asked = [...new Set(request.dates)];
  const days = asked.map((date) => Number(date.replaceAll('-', '')));
  const firstDay = days.length > 0 ? Math.min(...days) : 0;
  const span = days.length > 0 ? Math.max(...days) - firstDay + 1 : 0;
  const slotOf = span <= MAX_DAY_SPAN ? new Int32Array(span).fill(-1) : undefined;
  days.forEach((day, i) => {
    if (slotOf) slotOf[day - firstDay] = i * 3;
  });
  const tally = new Float64Array(asked.length * 3);
  const { high, medium } = request.thresholds;
  const width = scorer.features.length;
  let tallied = 0;
  // A NaN score, a day not asked for, or dates too far apart for the lookup: the tally cannot
  // vouch for the SQL bands; count the table.
  let untallied = slotOf === undefined;
  const model: NumberFunction = {
    arity: width + 1,
    compute(columns, rows, out) {
      const started = performance.now();
      scorer.scoreInto(columns.slice(0, width), rows, out, 'when-faster');
      const day = columns[width]!;
      if (slotOf)
        for (let r = 0; r < rows; r++) {
          const slot = slotOf[day[r]! - firstDay];
          const p = out[r]!;
          if (slot === undefined || slot < 0 || Number.isNaN(p)) {
            untallied = true;
            continue;
          }
          tally[slot + (p >= high ? 2 : p >= medium ? 1 : 0)]! += 1;
        }
      tallied += rows;
      scoreMs += performance.now() - started;
    },
  };
  await tx.withNumberFunction(model, async (call) => {
    const features = scorer.features.map((name) => float64Of(dialect, `f.${name}`, types.get(name) ?? ''));
    const rows = `select f.customer_id, f.snapshot_date, ${call([...features, dayNumber('f.snapshot_date')])} as p
       from ${tables.table(request.featureTable)} as f
       where f.snapshot_date in ${dates} and f.${request.recencyColumn} <= ?`;
    await rewriteVersionRows(tx, tables, request, index, predictedAt, rows, [
      ...request.dates,
      Math.floor(request.horizonDays),
    ]);
  });
  if (!untallied) {
    const snapshots = asked.map((snapshotDate, i) => {
      const [low, middle, top] = [tally[i * 3]!, tally[i * 3 + 1]!, tally[i * 3 + 2]!];
      return { snapshotDate, rows: low + middle + top, riskBands: { low, medium: middle, high: top } };
    });
    return { snapshots, rows: tallied, scoreMs };
  }
  // What was written, per snapshot and band (the bands are the statement's, so they agree).
  const counts = await tx.query<{ d: string; band: string; n: number | bigint }>(
    `select cast(snapshot_date as string) as d, risk_band as band, count(*) as n from ${predictions}
     where model_version = ? and snapshot_date in ${dates} group by 1, 2`,
    version,
  );
  const byDate = new Map<string, SnapshotScores>(
    request.dates.map((date) => [date, { snapshotDate: date, rows: 0, riskBands: { low: 0, medium: 0, high: 0 } }]),
  );
  let rows = 0;
  for (const { d, band, n } of counts) {
    const entry = byDate.get(d);
    if (!entry || (band !== 'low' && band !== 'medium' && band !== 'high'))
      throw TrainerErrors.invalidComponentIo('batch_predict', `the warehouse wrote rows of ${d} in band ${band}`);
    entry.rows += Number(n);
    entry.riskBands[band] += Number(n);
    rows += Number(n);
  }
  return { snapshots: [...byDate.values()], rows, scoreMs };
}
