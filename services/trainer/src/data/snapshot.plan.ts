/**
 * Which snapshot dates a training run uses, and how they split into train and holdout. Pure, so
 * the rules are tested without a warehouse:
 *
 * - **labelled**: a snapshot `d` has a label only when its whole horizon `(d, d + horizon]` is in
 *   the warehouse: `d + horizon <= asOf` and every run date of the horizon has landed;
 * - **clean**: a run date that failed upstream (`stage.failed`) taints the snapshots whose features
 *   (`[d - lookback + 1, d]`) or label window (`(d, d + horizon]`) read it; they are left out;
 * - **sampled**: snapshots on a fixed calendar grid (`epochDay % step == 0`, weekly by default),
 *   so consecutive runs share their snapshots and training stays small;
 * - **split by time**: the latest `round(n * holdoutFraction)` (at least 1, n at most
 *   `maxSnapshots`) are the holdout;
 * - **embargoed**: a train snapshot's label window must end by the first holdout snapshot
 *   (`d + embargoDays <= holdout[0]`, the embargo being the horizon), so no training label reads
 *   the holdout's period; snapshots in the gap are used by neither part; the latest train
 *   snapshots are kept, at most `maxSnapshots` with the holdout;
 * - **warm**: the first days of history are skipped, because there every customer looks new and
 *   the 90-day features are truncated. The warm-up is as long as the longest feature window
 *   (`warmupDays`) where the data allows: it shortens, day by day down to `minWarmupDays`, until
 *   the train part keeps `minSnapshots` snapshots; only then does the grid get finer (halving the
 *   step). When nothing reaches `minSnapshots`, the plan with the most train snapshots is used
 *   (whatever its warm-up), if it has a train and a holdout part.
 */
import { TrainerErrors } from '../errors.js';
import { addDays, epochDay } from './dates.js';

/** Sampling settings (pipeline parameters). */
export interface SamplingSettings {
  /** Grid step between sampled snapshots (7: weekly). */
  everyDays: number;
  /** Days of history skipped at the start, when the data allows (the longest feature window). */
  warmupDays: number;
  /** The shortest warm-up the plan may fall back to. */
  minWarmupDays: number;
  /** Fewest train snapshots a run aims for (the warm-up shortens, then the grid gets finer, below it). */
  minSnapshots: number;
  /** Most snapshots a run uses (the latest), so training cost stays flat as history grows. */
  maxSnapshots: number;
  /** Share of the sampled snapshots held out, the latest ones. */
  holdoutFraction: number;
  /** Days between the last train snapshot and the first holdout snapshot, at least (the horizon). */
  embargoDays: number;
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
  /** The warm-up applied (days after the first feature date before the first snapshot). */
  warmupDays: number;
  /** The embargo applied, and how many sampled snapshots it left out. */
  embargoDays: number;
  embargoed: number;
  /** Snapshots with a complete label window, before cleaning and sampling. */
  labelled: number;
  /** Labelled snapshots left out because an upstream stage failed on data they read. */
  tainted: number;
}

type Split = Pick<SnapshotPlan, 'train' | 'holdout' | 'step' | 'warmupDays' | 'embargoed'>;

function split(eligible: readonly string[], step: number, warmupDays: number, sampling: SamplingSettings): Split {
  const sample = eligible.filter((date) => epochDay(date) % step === 0);
  const most = Math.max(2, sampling.maxSnapshots);
  if (sample.length < 2) return { train: [], holdout: sample.slice(-1), step, warmupDays, embargoed: 0 };
  const holdoutCount = Math.min(
    most - 1,
    sample.length - 1,
    Math.max(1, Math.round(Math.min(sample.length, most) * sampling.holdoutFraction)),
  );
  const holdout = sample.slice(sample.length - holdoutCount);
  const before = sample.slice(0, sample.length - holdoutCount);
  const firstHoldout = epochDay(holdout[0]!);
  const clear = before.filter((date) => epochDay(date) + sampling.embargoDays <= firstHoldout);
  // At most maxSnapshots in all: the latest train snapshots before the embargo.
  const train = clear.slice(-(most - holdoutCount));
  const embargoed = before.length - clear.length;
  return { train, holdout, step, warmupDays, embargoed };
}

function choose(clean: readonly string[], first: string, sampling: SamplingSettings): Split {
  const longest = Math.max(sampling.warmupDays, sampling.minWarmupDays);
  const steps: number[] = [];
  for (let step = Math.max(1, Math.floor(sampling.everyDays)); ; step = Math.max(1, Math.floor(step / 2))) {
    steps.push(step);
    if (step === 1) break;
  }
  const plans = steps.map((step) => {
    const byWarmup: Split[] = [];
    for (let warmup = longest; warmup >= 0; warmup -= 1) {
      const start = addDays(first, warmup);
      byWarmup.push(
        split(
          clean.filter((date) => date >= start),
          step,
          warmup,
          sampling,
        ),
      );
    }
    return byWarmup;
  });
  // The longest warm-up (down to the floor) that keeps minSnapshots, on the coarsest grid that has one.
  for (const byWarmup of plans) {
    const enough = byWarmup.find(
      (plan) =>
        plan.warmupDays >= sampling.minWarmupDays &&
        plan.train.length >= sampling.minSnapshots &&
        plan.holdout.length > 0,
    );
    if (enough) return enough;
  }
  // Otherwise the plan with the most train snapshots (a longer warm-up, then a coarser grid, on ties),
  // even below the warm-up floor: a short history still trains, on what it has.
  let best = plans[0]![0]!;
  for (const byWarmup of plans)
    for (const plan of byWarmup) if (plan.holdout.length > 0 && plan.train.length > best.train.length) best = plan;
  return best;
}

/** Choose the snapshots of a training run; throws `TRAINER.INSUFFICIENT_HISTORY` when no train or holdout part remains. */
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
  const chosen =
    first === undefined
      ? { train: [], holdout: [], step: sampling.everyDays, warmupDays: 0, embargoed: 0 }
      : choose(clean, first, sampling);

  const details = {
    asOf,
    horizonDays,
    featureDates: sorted.length,
    labelled: labelled.length,
    tainted: labelled.length - clean.length,
    embargoDays: sampling.embargoDays,
  };
  if (chosen.train.length === 0 || chosen.holdout.length === 0) {
    const why =
      labelled.length === 0
        ? `no snapshot up to ${asOf} has its ${horizonDays}-day label window complete in the warehouse (${sorted.length} snapshot date(s) from ${sorted[0] ?? 'none'}); a training run needs at least ${horizonDays + sampling.embargoDays + sampling.minWarmupDays + 2} days of history`
        : clean.length < 2
          ? `${labelled.length - clean.length} of ${labelled.length} labelled snapshot(s) read data of run dates an upstream stage failed for (${input.excludedDates.slice(0, 5).join(', ')}); rebuild those dates`
          : `the ${clean.length} labelled snapshot(s) from ${clean[0]} to ${clean.at(-1)} leave no train snapshot ${sampling.embargoDays} day(s) (the embargo) before a holdout snapshot after ${sampling.minWarmupDays} day(s) of warm-up`;
    throw TrainerErrors.insufficientHistory(why, details);
  }
  return {
    ...chosen,
    embargoDays: sampling.embargoDays,
    labelled: labelled.length,
    tainted: labelled.length - clean.length,
  };
}
