/**
 * The champion as of a moment: the version of the latest promotion made at or before it.
 * Promotions are stamped with the time of the event that caused them, so "the champion as of an
 * event's time" depends only on the event and the promotion history: scoring an event's snapshots
 * with it gives the same rows whether the event is delivered now, again, or replayed after newer
 * models were promoted.
 */
import type { ModelRegistry, ModelVersion } from '@mlops/kernel';

/** The champion of `modelName` as of `time` (RFC 3339), or undefined when none was promoted by then. */
export async function championAt(
  registry: ModelRegistry,
  modelName: string,
  time: string,
): Promise<ModelVersion | undefined> {
  const history = await registry.promotions(modelName);
  const promotion = history.filter((entry) => entry.promotedAt <= time).at(-1);
  return promotion ? registry.get(modelName, promotion.version) : undefined;
}

/** Which version scores a snapshot, and whether that is point-in-time. */
export interface ScorerAssignment {
  date: string;
  version: string;
  /** The version's training data ends after the snapshot: not point-in-time (no champion of that time existed). */
  backfilled: boolean;
}

/**
 * The scorer of each snapshot date for an event at `time`, from the champions of that time (the
 * promotions made by then): the latest of them whose training data ended on or before the
 * snapshot, so a back-dated snapshot is scored by the champion of its time; when none had, the
 * champion as of `time`, marked backfilled. Empty when nothing was promoted by then. Pure.
 */
export function assignScorers(
  champions: readonly { version: string; promotedAt: string; dataTo: string }[],
  time: string,
  dates: readonly string[],
): ScorerAssignment[] {
  const ofTheTime = champions.filter((entry) => entry.promotedAt <= time);
  const current = ofTheTime.at(-1);
  if (!current) return [];
  return [...new Set(dates)].sort().map((date) => {
    const pointInTime = ofTheTime.filter((entry) => entry.dataTo <= date).at(-1);
    return pointInTime
      ? { date, version: pointInTime.version, backfilled: false }
      : { date, version: current.version, backfilled: true };
  });
}

/** {@link assignScorers} over a registry's promotion history. */
export async function scorersAt(
  registry: ModelRegistry,
  modelName: string,
  time: string,
  dates: readonly string[],
): Promise<{ assignments: ScorerAssignment[]; versions: Map<string, ModelVersion> }> {
  const history = (await registry.promotions(modelName)).filter((entry) => entry.promotedAt <= time);
  const versions = new Map<string, ModelVersion>();
  for (const promotion of history) {
    if (versions.has(promotion.version)) continue;
    const version = await registry.get(modelName, promotion.version);
    if (version) versions.set(promotion.version, version);
  }
  const champions = history.flatMap((promotion) => {
    const version = versions.get(promotion.version);
    return version
      ? [{ version: version.version, promotedAt: promotion.promotedAt, dataTo: version.dataRange.to }]
      : [];
  });
  return { assignments: assignScorers(champions, time, dates), versions };
}
