import {
  BRONZE_CONTENT_TYPES,
  bronzePartKey,
  bronzePrefix,
  generateClickEvents,
  generationFor,
  generationProblem,
  isIsoDate,
  partitionContentHash,
  sourceRequested,
  toJsonLines,
  unknownSources,
  type CloudEvent,
  type GeneratorSettings,
  type HandlerContext,
  type ObjectStore,
} from '@mlops/shared';
import { ClickGenErrors } from './errors.js';

/** What the clickstream generator needs. */
export interface ClickGenDeps {
  readonly objects: ObjectStore;
  readonly generators: GeneratorSettings;
}

/**
 * Write the run date's clickstream to `bronze/clickstream/dt=D/part-00000.jsonl` (streamed, and
 * atomically replaced), remove any other object of that partition, and announce it.
 */
export async function generateClickDay(deps: ClickGenDeps, event: CloudEvent<'mlops.pipeline.started.v1'>, context: HandlerContext): Promise<void> {
  const { data } = event;
  const unknown = unknownSources(data);
  if (unknown.length > 0) throw ClickGenErrors.unknownSource(unknown);
  if (!sourceRequested(data, 'clickstream')) {
    context.log.info('clickstream skipped: the run does not ask for the clickstream source', { runDate: data.runDate, sources: data.sources });
    return;
  }
  if (!isIsoDate(data.runDate)) throw ClickGenErrors.badRunDate(data.runDate);
  const generation = generationFor(deps.generators, data);
  const problem = generationProblem(generation);
  if (problem) throw ClickGenErrors.badGeneration(problem);

  const started = performance.now();
  const key = bronzePartKey('clickstream', data.runDate, 0, 'jsonl');
  const prefix = bronzePrefix('clickstream', data.runDate);
  const tally = { rows: 0, dirty: 0 };
  const meta = await deps.objects.put(key, toJsonLines(generateClickEvents({ ...generation, date: data.runDate }), tally), { contentType: BRONZE_CONTENT_TYPES.jsonl });
  const stale = (await deps.objects.list(prefix)).map((object) => object.key).filter((existing) => existing !== key);
  if (stale.length > 0) await deps.objects.delete(stale);

  const objects = [{ key, bytes: meta.bytes, sha256: meta.sha256, rows: tally.rows }];
  context.log.info(`landed ${tally.rows} click events for ${data.runDate}`, {
    runDate: data.runDate,
    rows: tally.rows,
    dirty: tally.dirty,
    bytes: meta.bytes,
    staleRemoved: stale.length,
    scale: generation.scale,
    seed: generation.seed,
    durationMs: Math.round(performance.now() - started),
  });
  await context.emit(
    'mlops.bronze.landed.v1',
    {
      runDate: data.runDate,
      source: 'clickstream',
      format: 'jsonl',
      prefix,
      objects,
      rowCount: tally.rows,
      bytes: meta.bytes,
      contentHash: partitionContentHash(objects),
      loadType: 'daily',
      ...(data.backfill ? { backfill: data.backfill } : {}),
    },
    { subject: `clickstream/${data.runDate}` },
  );
}
