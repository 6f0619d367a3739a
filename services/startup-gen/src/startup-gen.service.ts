/** The startup-gen service factory (kept apart from index.ts so compose.ts can import it without a cycle). */
import { generationProblem, type GeneratorSettings } from '@mlops/synthetic';
import { type CloudEvent, type ObjectStore, type Service } from '@mlops/kernel';
import { StartupGenErrors } from './errors.js';
import { generateStartupsDay } from './handler.js';

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
    handle: (event, context) =>
      generateStartupsDay(
        { objects: deps.objects, generators: deps.generators },
        event as CloudEvent<'mlops.pipeline.started.v1'>,
        context,
      ),
  };
}
