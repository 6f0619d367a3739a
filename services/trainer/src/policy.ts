/**
 * The retraining policy, pure. On `warehouse.ready` the trainer trains a challenger when
 *
 * 1. the event asks for it (`retrain: true`, from `mlops run --retrain`) — `asked`;
 * 2. the event closes a backfill (`closesBackfill`: once its run is, the window's last date is
 *    built and none of its dates misses a source; from producers that do not say, its run dates
 *    include `backfill.to`) — `backfill-end`. A date that lands after the last one is waited for:
 *    its own run closes the window. A date of the window built again later (a replay, a redriven
 *    broken date) closes it again, so the window is trained on again with it; while a backfill is
 *    still running nothing is trained (only the champion predicts);
 * 3. the champion's data is stale: the event's latest run date is at least `retrainEveryDays`
 *    after the champion's data cut-off — `schedule` (weekly by default);
 * 4. there is no champion yet — `no-champion`;
 *
 * and otherwise only batch-predicts with the champion. Only an explicit request (1) makes a
 * shortage of labelled history an error; the automatic triggers log it and predict instead.
 */
import type { WarehouseReady } from '@mlops/kernel';
import { epochDay } from './data/dates.js';

/** Why a challenger is trained. */
export type TrainingTrigger = 'asked' | 'backfill-end' | 'schedule' | 'no-champion';

/** The decision for one event. */
export interface TrainingDecision {
  train: boolean;
  trigger?: TrainingTrigger;
  /** Whether the user asked (errors are then reported, not skipped). */
  explicit: boolean;
  reason: string;
}

/** The latest run date of an event: its data cut-off. */
export function asOfOf(event: Pick<WarehouseReady, 'runDates'>): string {
  return [...event.runDates].sort().at(-1)!;
}

/** Whether a backfill's event closes its window (see 2. above). */
function closesBackfill(event: Pick<WarehouseReady, 'runDates' | 'backfill' | 'closesBackfill'>): boolean {
  if (!event.backfill) return false;
  return event.closesBackfill ?? event.runDates.includes(event.backfill.to);
}

/**
 * The data cut-off a run for this event trains and scores as of: the event's latest run date, or
 * the window's last date when the event closes a backfill (a late date of the window built after it).
 */
export function trainingAsOf(event: Pick<WarehouseReady, 'runDates' | 'backfill' | 'closesBackfill'>): string {
  const asOf = asOfOf(event);
  return closesBackfill(event) && event.backfill!.to > asOf ? event.backfill!.to : asOf;
}

/** Decide whether this event trains. */
export function decideTraining(
  event: Pick<WarehouseReady, 'runDates' | 'backfill' | 'retrain' | 'closesBackfill'>,
  champion: { version: string; dataTo: string } | undefined,
  retrainEveryDays: number,
): TrainingDecision {
  const asOf = trainingAsOf(event);
  if (event.retrain === true)
    return { train: true, trigger: 'asked', explicit: true, reason: 'retraining was asked for (retrain: true)' };
  if (event.backfill) {
    if (closesBackfill(event))
      return {
        train: true,
        trigger: 'backfill-end',
        explicit: false,
        reason: event.runDates.includes(event.backfill.to)
          ? `last date of the backfill ${event.backfill.from}..${event.backfill.to}`
          : `the backfill ${event.backfill.from}..${event.backfill.to} closed by ${event.runDates.length} date(s) of it built after its last date (landed late, or built again)`,
      };
    return {
      train: false,
      explicit: false,
      reason: `backfill ${event.backfill.from}..${event.backfill.to} in progress; training waits until it closes (its last date built, none of its dates missing a source)`,
    };
  }
  if (!champion) return { train: true, trigger: 'no-champion', explicit: false, reason: 'there is no champion yet' };
  const age = epochDay(asOf) - epochDay(champion.dataTo);
  if (age >= retrainEveryDays) {
    return {
      train: true,
      trigger: 'schedule',
      explicit: false,
      reason: `the champion ${champion.version} has data up to ${champion.dataTo}, ${age} day(s) before ${asOf} (retrain every ${retrainEveryDays})`,
    };
  }
  return {
    train: false,
    explicit: false,
    reason: `the champion ${champion.version} is ${age} day(s) old (retrain every ${retrainEveryDays})`,
  };
}
