/**
 * Which snapshot dates a training run uses, and how they split into train and holdout. Pure, so
 * the rules are tested without a warehouse:
 *
 * - **labelled**: a snapshot `d` has a label only when its whole horizon `(d, d + horizon]` is in
 *   the warehouse: `d + horizon <= asOf` and every run date of the horizon has landed;
 * - **clean**: a run date that failed upstream (`stage.failed`) taints the snapshots whose features
 *   (`[d - lookback + 1, d]`) or label window (`(d, d + horizon]`) read it; they are left out;
 * - **warm**: the first `warmupDays` of history are skipped (every customer looks new there),
 *   unless that would leave fewer than `minSnapshots`;
 * - **sampled**: snapshots on a fixed calendar grid (`epochDay % step == 0`, weekly by default),
 *   so consecutive runs share their snapshots and training stays small; the step shrinks towards 1
 *   when the grid would hold fewer than `minSnapshots`; at most `maxSnapshots`, the latest;
 * - **split by time**: the latest `round(n * holdoutFraction)` (at least 1) are the holdout.
 */
import { TrainerErrors } from '../errors.js';
import { addDays, epochDay } from './dates.js';

/** Sampling settings (pipeline parameters). */
export interface SamplingSettings {
  /** Grid step between sampled snapshots (7: weekly). */
  everyDays: number;
  /** Days of history skipped at the start. */
  warmupDays: number;
  /** Fewest snapshots a run aims for (the grid gets finer below it). */
  minSnapshots: number;
  /** Most snapshots a run uses (the latest), so training cost stays flat as history grows. */
  maxSnapshots: number;
  /** Share of the sampled snapshots held out, the latest ones. */
  holdoutFraction: number;
}

/** What the planner looks at. */
export interface SnapshotPlanInput {
  /** The data cut-off: the latest run date whose data may be read. */
  asOf: string;
  /** Snapshot dates present in the feature table, up to asOf. */
  featureDates: readonly string[];
  /** Run dates present in fct_sales, up to asOf. */
  salesDates: ReadonlySet<string>;
  horizonDays: number;
  /** Feature lookback of the warehouse (90 days in the Dataform project). */
  lookbackDays: number;
  /** Run dates an upstream stage failed for. */
  excludedDates: readonly string[];
  sampling: SamplingSettings;
}

/** The chosen snapshots. */
export interface SnapshotPlan {
  train: string[];
  holdout: string[];
  /** The grid step used. */
  step: number;
  /** Snapshots with a complete label window, before cleaning and sampling. */
  labelled: number;
  /** Labelled snapshots left out because an upstream stage failed on data they read. */
  tainted: number;
}

/** Choose the snapshots of a training run; throws `TRAINER.INSUFFICIENT_HISTORY` when fewer than two remain. */
export function planSnapshots(input: SnapshotPlanInput): SnapshotPlan {
  const { asOf, horizonDays, sampling } = input;
  const sorted = [...new Set(input.featureDates)].filter((date) => date <= asOf).sort();
  const labelled = sorted.filter((date) => {
    if (addDays(date, horizonDays) > asOf) return false;
    for (let day = 1; day <= horizonDays; day++) if (!input.salesDates.has(addDays(date, day))) return false;
    return true;
  });
  const excluded = input.excludedDates.map(epochDay);
  const clean = labelled.filter((date) => {
    const day = epochDay(date);
    return !excluded.some((bad) => bad >= day - input.lookbackDays + 1 && bad <= day + horizonDays);
  });
  const first = sorted[0];
  const warm = first === undefined ? [] : clean.filter((date) => date >= addDays(first, sampling.warmupDays));
  const eligible = warm.length >= sampling.minSnapshots ? warm : clean;

  let step = Math.max(1, Math.floor(sampling.everyDays));
  let sample = eligible.filter((date) => epochDay(date) % step === 0);
  while (sample.length < sampling.minSnapshots && step > 1) {
    step = Math.max(1, Math.floor(step / 2));
    sample = eligible.filter((date) => epochDay(date) % step === 0);
  }
  sample = sample.slice(-Math.max(2, sampling.maxSnapshots));

  const details = {
    asOf,
    horizonDays,
    featureDates: sorted.length,
    labelled: labelled.length,
    tainted: labelled.length - clean.length,
  };
  if (sample.length < 2) {
    const why =
      labelled.length === 0
        ? `no snapshot up to ${asOf} has its ${horizonDays}-day label window complete in the warehouse (${sorted.length} snapshot date(s) from ${sorted[0] ?? 'none'}); a training run needs at least ${horizonDays + 2} days of history`
        : clean.length < 2
          ? `${labelled.length - clean.length} of ${labelled.length} labelled snapshot(s) read data of run dates an upstream stage failed for (${input.excludedDates.slice(0, 5).join(', ')}); rebuild those dates`
          : `only ${sample.length} snapshot(s) could be sampled`;
    throw TrainerErrors.insufficientHistory(why, details);
  }
  const holdoutCount = Math.min(sample.length - 1, Math.max(1, Math.round(sample.length * sampling.holdoutFraction)));
  return {
    train: sample.slice(0, sample.length - holdoutCount),
    holdout: sample.slice(sample.length - holdoutCount),
    step,
    labelled: labelled.length,
    tainted: labelled.length - clean.length,
  };
}
