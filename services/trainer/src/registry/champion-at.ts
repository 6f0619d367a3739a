/**
 * The champion as of a moment: the version of the latest promotion made at or before it.
 * Promotions are stamped with the time of the event that caused them, so "the champion as of an
 * event's time" depends only on the event and the promotion history: scoring an event's snapshots
 * with it gives the same rows whether the event is delivered now, again, or replayed after newer
 * models were promoted.
 */
import type { ModelRegistry, ModelVersion } from '@mlops/shared';

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
