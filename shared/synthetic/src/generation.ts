/**
 * What one generator run generates with: the configured settings, overridden per run by the start
 * event (`scale`, `seed`, `sources`), checked before anything is written.
 */
import {
  type BronzeSource,
  type PipelineStarted,
  type Stage,
  type StageSkipped,
  type PlatformConfig,
  runDateOutOfBounds,
  isIsoDate,
  type Logger,
} from '@mlops/kernel';

/** The generators' settings (the `generators` section of the configuration). */
export type GeneratorSettings = PlatformConfig['generators'];

/** The settings of one run. */
export interface Generation {
  readonly seed: number;
  readonly scale: number;
  readonly dirtyShare: number;
}

/** Largest scale the generators accept (scale 1000 is about a million orders a day). */
export const MAX_SCALE = 1000;

/** The bronze sources a start event may name. */
export const BRONZE_SOURCES: readonly BronzeSource[] = ['sales', 'clickstream', 'startups'];

/** A generation setting that is out of range, and why. */
export interface GenerationProblem {
  readonly setting: 'scale' | 'seed' | 'dirtyShare';
  readonly message: string;
}

/** The first problem of a run's settings, or undefined when they are usable. */
export function generationProblem(generation: Generation): GenerationProblem | undefined {
  const { scale, seed, dirtyShare } = generation;
  if (typeof scale !== 'number' || !Number.isFinite(scale) || scale <= 0 || scale > MAX_SCALE) {
    return {
      setting: 'scale',
      message: `scale must be a number above 0 and at most ${MAX_SCALE} (got ${String(scale)})`,
    };
  }
  if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0 || seed > 4_294_967_295) {
    return { setting: 'seed', message: `seed must be a whole number from 0 to 4294967295 (got ${String(seed)})` };
  }
  if (typeof dirtyShare !== 'number' || !(dirtyShare >= 0 && dirtyShare <= 0.5)) {
    return { setting: 'dirtyShare', message: `dirty share must be between 0 and 0.5 (got ${String(dirtyShare)})` };
  }
  return undefined;
}

/** The settings of a run: the start event's scale and seed when given, else the configured ones. */
export function generationFor(
  settings: Pick<GeneratorSettings, 'seed' | 'scale' | 'dirtyShare'>,
  data: Pick<PipelineStarted, 'scale' | 'seed'>,
): Generation {
  return { seed: data.seed ?? settings.seed, scale: data.scale ?? settings.scale, dirtyShare: settings.dirtyShare };
}

/** Sources a start event names that are not bronze sources (the schema refuses them; handlers check again). */
export function unknownSources(data: Pick<PipelineStarted, 'sources'>): string[] {
  return (data.sources ?? []).filter((source) => !(BRONZE_SOURCES as readonly string[]).includes(source));
}

/** Whether a start event asks for a source (all sources when it names none). */
export function sourceRequested(data: Pick<PipelineStarted, 'sources'>, source: BronzeSource): boolean {
  return data.sources === undefined || data.sources.includes(source);
}

/** The errors a generator raises for a start event it cannot run (each service has its own codes). */
export interface StartEventErrors {
  unknownSource(sources: readonly string[]): Error;
  badRunDate(runDate: unknown): Error;
  /** The run date is a calendar date outside the accepted range (`reason` says which bound). */
  runDateOutOfRange(runDate: string, reason: string): Error;
  badGeneration(problem: GenerationProblem): Error;
}

/**
 * What a start event asks of the generator of `source`: the generation to run, or undefined (with
 * a log line) when the run does not ask for that source. Throws the service's error when the event
 * names an unknown source, its run date is not a calendar date or is out of the accepted range
 * (`settings.runDates`, the defaults when absent; `now` says which day is tomorrow), or its scale,
 * seed or dirty share is out of range.
 */
export function startedGeneration(
  data: PipelineStarted,
  source: BronzeSource,
  settings: Pick<GeneratorSettings, 'seed' | 'scale' | 'dirtyShare' | 'runDates'>,
  errors: StartEventErrors,
  log: Pick<Logger, 'info'>,
  now: Date = new Date(),
): Generation | undefined {
  const unknown = unknownSources(data);
  if (unknown.length > 0) throw errors.unknownSource(unknown);
  if (!sourceRequested(data, source)) {
    log.info(`${source} skipped: the run does not ask for the ${source} source`, {
      runDate: data.runDate,
      sources: data.sources,
    });
    return undefined;
  }
  if (!isIsoDate(data.runDate)) throw errors.badRunDate(data.runDate);
  const outOfRange = runDateOutOfBounds(data.runDate, settings.runDates, now);
  if (outOfRange) throw errors.runDateOutOfRange(data.runDate, outOfRange);
  const generation = generationFor(settings, data);
  const problem = generationProblem(generation);
  if (problem) throw errors.badGeneration(problem);
  return generation;
}

/**
 * The `stage.skipped` a generator publishes when the run does not ask for its source, so the run
 * ledger closes its stage (`code` is the service's, e.g. `SALES_GEN.NOT_REQUESTED`).
 */
export function sourceNotRequested(
  stage: Stage,
  code: string,
  source: BronzeSource,
  event: { id: string; data: Pick<PipelineStarted, 'runDate'> },
): StageSkipped {
  return {
    stage,
    code,
    reason: `the run does not ask for the ${source} source`,
    runDates: [event.data.runDate],
    causeEventId: event.id,
  };
}
