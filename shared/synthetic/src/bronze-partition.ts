/**
 * Landing a bronze partition: its parts go under deterministic keys (each put an atomic replace),
 * then the partition's other objects are deleted, and the partition is described as the data of
 * `mlops.bronze.landed.v1`. Shared by the generators that write JSON lines and the lander.
 */
import type { BackfillWindow, BronzeLanded, BronzeSource, LandedObject, ObjectStore } from '@mlops/kernel';
import {
  BRONZE_CONTENT_TYPES,
  bronzePartKey,
  bronzePrefix,
  partitionContentHash,
  toJsonLines,
  type BronzeFormat,
  type JsonLinesTally,
} from './bronze-layout.js';

/** Delete every object under `prefix` but those in `keep`; resolves to how many were deleted. */
export async function removeStaleObjects(
  objects: ObjectStore,
  prefix: string,
  keep: readonly string[],
): Promise<number> {
  const kept = new Set(keep);
  const stale = (await objects.list(prefix)).map((object) => object.key).filter((key) => !kept.has(key));
  if (stale.length > 0) await objects.delete(stale);
  return stale.length;
}

/** What {@link replaceJsonlPartition} wrote. */
export interface ReplacedPartition {
  readonly object: LandedObject;
  readonly tally: JsonLinesTally;
  readonly staleRemoved: number;
}

/**
 * Make `records` the whole `source` partition of `date`: one JSON-lines part, streamed (never all
 * in memory) and put atomically, then the partition's other objects deleted.
 */
export async function replaceJsonlPartition(
  objects: ObjectStore,
  source: BronzeSource,
  date: string,
  records: Iterable<{ readonly data: unknown; readonly dirty?: unknown }>,
): Promise<ReplacedPartition> {
  const key = bronzePartKey(source, date, 0, 'jsonl');
  const tally: JsonLinesTally = { rows: 0, dirty: 0 };
  const meta = await objects.put(key, toJsonLines(records, tally), { contentType: BRONZE_CONTENT_TYPES.jsonl });
  const staleRemoved = await removeStaleObjects(objects, bronzePrefix(source, date), [key]);
  return { object: { key, bytes: meta.bytes, sha256: meta.sha256, rows: tally.rows }, tally, staleRemoved };
}

/** The data of `mlops.bronze.landed.v1` for the objects of a partition. */
export function bronzeLandedData(
  source: BronzeSource,
  runDate: string,
  format: BronzeFormat,
  objects: readonly LandedObject[],
  loadType: BronzeLanded['loadType'],
  backfill?: BackfillWindow,
): BronzeLanded {
  return {
    runDate,
    source,
    format,
    prefix: bronzePrefix(source, runDate),
    objects: [...objects],
    rowCount: objects.reduce((sum, object) => sum + object.rows, 0),
    bytes: objects.reduce((sum, object) => sum + object.bytes, 0),
    contentHash: partitionContentHash(objects),
    loadType,
    ...(backfill ? { backfill } : {}),
  };
}
