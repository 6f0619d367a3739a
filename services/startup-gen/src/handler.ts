import {
  bronzeLandedData,
  findStartupFullLoad,
  generateStartupCompanies,
  isFriday,
  replaceJsonlPartition,
  sourceNotRequested,
  startedGeneration,
  startupFullLoadDate,
  startupLoadOn,
  type Generation,
  type GeneratorSettings,
  type StartupLoadType,
} from '@mlops/synthetic';
import { type CloudEvent, type HandlerContext, type ObjectStore } from '@mlops/kernel';
import { StartupGenErrors } from './errors.js';

/** What the startups generator needs. */
export interface StartupGenDeps {
  readonly objects: ObjectStore;
  readonly generators: GeneratorSettings;
}

/** One load to write: a date and its type. */
interface Load {
  readonly date: string;
  readonly loadType: StartupLoadType;
}

/**
 * Land the startups of a run date when one is due: the full load when the lake has none yet (at
 * the run date, or at the first date of the run's backfill window), and the week's delta on a
 * Friday. On any other day nothing is written, the log says why, and `stage.skipped`
 * (`STARTUP_GEN.NOT_DUE`) closes the stage.
 */
export async function generateStartupsDay(
  deps: StartupGenDeps,
  event: CloudEvent<'mlops.pipeline.started.v1'>,
  context: HandlerContext,
): Promise<void> {
  const { data } = event;
  const generation = startedGeneration(data, 'startups', deps.generators, StartupGenErrors, context.log);
  if (!generation) {
    await context.emit(
      'mlops.stage.skipped.v1',
      sourceNotRequested('startup-gen', 'STARTUP_GEN.NOT_REQUESTED', 'startups', event),
      { subject: `skipped/startups/${data.runDate}` },
    );
    return;
  }

  const inLake = await findStartupFullLoad(deps.objects);
  const fullLoadDate = startupFullLoadDate(data.runDate, inLake, data.backfill?.from);
  const loads: Load[] = [];
  if (inLake === undefined && fullLoadDate !== data.runDate) loads.push({ date: fullLoadDate, loadType: 'full' });
  const today = startupLoadOn(data.runDate, fullLoadDate);
  if (today) loads.push({ date: data.runDate, loadType: today });
  if (loads.length === 0) {
    const reason = `startups land on the first run (${fullLoadDate}) and on Fridays, and ${data.runDate} is neither`;
    context.log.info(`startups skipped for ${data.runDate}: ${reason}`, {
      runDate: data.runDate,
      fullLoadDate,
      friday: isFriday(data.runDate),
    });
    await context.emit(
      'mlops.stage.skipped.v1',
      { stage: 'startup-gen', code: 'STARTUP_GEN.NOT_DUE', reason, runDates: [data.runDate], causeEventId: event.id },
      { subject: `skipped/startups/${data.runDate}` },
    );
    return;
  }
  for (const load of loads) await land(deps, generation, load, data.backfill, context);
}

async function land(
  deps: StartupGenDeps,
  generation: Generation,
  load: Load,
  backfill: { from: string; to: string } | undefined,
  context: HandlerContext,
): Promise<void> {
  const started = performance.now();
  const { object, tally, staleRemoved } = await replaceJsonlPartition(
    deps.objects,
    'startups',
    load.date,
    generateStartupCompanies({ ...generation, date: load.date, loadType: load.loadType }),
  );
  context.log.info(`landed the ${load.loadType} startups load of ${load.date} (${tally.rows} rows)`, {
    runDate: load.date,
    loadType: load.loadType,
    rows: tally.rows,
    dirty: tally.dirty,
    bytes: object.bytes,
    staleRemoved,
    durationMs: Math.round(performance.now() - started),
  });
  await context.emit(
    'mlops.bronze.landed.v1',
    bronzeLandedData('startups', load.date, 'jsonl', [object], load.loadType, backfill),
    { subject: `startups/${load.date}`, rundate: load.date },
  );
}
