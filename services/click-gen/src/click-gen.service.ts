/** The click-gen service factory (kept apart from index.ts so compose.ts can import it without a cycle). */
import { generationProblem, type GeneratorSettings } from '@mlops/synthetic';
import { type CloudEvent, type ObjectStore, type Service } from '@mlops/kernel';
import { ClickGenErrors } from './errors.js';
import { generateClickDay } from './handler.js';

/** What {@link createClickGenService} needs. */
export interface ClickGenServiceDeps {
  /** The lake (a folder locally, GCS in the cloud). */
  readonly objects: ObjectStore;
  /** `config.generators`: seed, scale, dirtyShare (piiHmacKey is not used: click events carry no PII). */
  readonly generators: GeneratorSettings;
}

/** The clickstream generator service. Throws a ConfigError naming the setting when a setting is unusable. */
export function createClickGenService(deps: ClickGenServiceDeps): Service {
  const problem = generationProblem(deps.generators);
  if (problem) throw ClickGenErrors.badSetting(problem);
  return {
    name: 'click-gen',
    consumes: ['mlops.pipeline.started.v1'],
    handle: (event, context) =>
      generateClickDay(
        { objects: deps.objects, generators: deps.generators },
        event as CloudEvent<'mlops.pipeline.started.v1'>,
        context,
      ),
  };
}
