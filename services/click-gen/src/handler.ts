import {
  bronzeLandedData,
  generateClickEvents,
  replaceJsonlPartition,
  sourceNotRequested,
  startedGeneration,
  type GeneratorSettings,
} from '@mlops/synthetic';
import { type CloudEvent, type HandlerContext, type ObjectStore } from '@mlops/kernel';
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
export async function generateClickDay(
  deps: ClickGenDeps,
  event: CloudEvent<'mlops.pipeline.started.v1'>,
  context: HandlerContext,
): Promise<void> {
  const { data } = event;
  const generation = startedGeneration(data, 'clickstream', deps.generators, ClickGenErrors, context.log);
  if (!generation) {
    await context.emit(
      'mlops.stage.skipped.v1',
      sourceNotRequested('click-gen', 'CLICK_GEN.NOT_REQUESTED', 'clickstream', event),
      { subject: `skipped/clickstream/${data.runDate}` },
    );
    return;
  }

  const started = performance.now();
  const { object, tally, staleRemoved } = await replaceJsonlPartition(
    deps.objects,
    'clickstream',
    data.runDate,
    generateClickEvents({ ...generation, date: data.runDate }),
  );
  context.log.info(`landed ${tally.rows} click events for ${data.runDate}`, {
    runDate: data.runDate,
    rows: tally.rows,
    dirty: tally.dirty,
    bytes: object.bytes,
    staleRemoved,
    scale: generation.scale,
    seed: generation.seed,
    durationMs: Math.round(performance.now() - started),
  });
  await context.emit(
    'mlops.bronze.landed.v1',
    bronzeLandedData('clickstream', data.runDate, 'jsonl', [object], 'daily', data.backfill),
    { subject: `clickstream/${data.runDate}` },
  );
}
