/**
 * The startups generator: on `mlops.pipeline.started.v1` it writes the full load of tracked
 * startups on the first run and a delta of new and changed companies on Fridays, as JSON lines to
 * `bronze/startups/dt=YYYY-MM-DD/`, and publishes `mlops.bronze.landed.v1`. Other days it skips.
 */
import { generationProblem, type CloudEvent, type GeneratorSettings, type ObjectStore, type Service } from '@mlops/shared';
import { StartupGenErrors } from './errors.js';
import { generateStartupsDay } from './handler.js';

export { StartupGenErrors } from './errors.js';

/** What {@link createStartupGenService} needs. */
export interface StartupGenServiceDeps {
  /** The lake (a folder locally, GCS in the cloud); also where it looks for the existing full load. */
  readonly objects: ObjectStore;
  /** `config.generators`: seed, scale, dirtyShare (piiHmacKey is not used). */
  readonly generators: GeneratorSettings;
}

/** The startups generator service. Throws a ConfigError naming the setting when a setting is unusable. */
export function createStartupGenService(deps: StartupGenServiceDeps): Service {
  const problem = generationProblem(deps.generators);
  if (problem) throw StartupGenErrors.badSetting(problem);
  return {
    name: 'startup-gen',
    consumes: ['mlops.pipeline.started.v1'],
    handle: (event, context) => generateStartupsDay({ objects: deps.objects, generators: deps.generators }, event as CloudEvent<'mlops.pipeline.started.v1'>, context),
  };
}
export { startupGenFromPlatform } from './compose.js';
