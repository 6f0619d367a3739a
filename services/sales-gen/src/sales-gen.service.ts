/** The sales-gen service factory (kept apart from index.ts so compose.ts can import it without a cycle). */
import { generationProblem, type GeneratorSettings } from '@mlops/synthetic';
import { type CloudEvent, type DocumentStore, type Service } from '@mlops/kernel';
import { SalesGenErrors } from './errors.js';
import { generateSalesDay } from './handler.js';

/** What {@link createSalesGenService} needs. */
export interface SalesGenServiceDeps {
  /** The document store of the mode (SQLite locally, Firestore otherwise). */
  readonly documents: DocumentStore;
  /** Collection of the orders: `config.documents.salesCollection`. */
  readonly collection: string;
  /** `config.generators`: seed, scale, dirtyShare, piiHmacKey. */
  readonly generators: GeneratorSettings;
  /**
   * Documents per write (default and most {@link MAX_BATCH}): one SQLite transaction each, so a day
   * at scale 10 is one transaction that touches each page of the store's id index once.
   */
  readonly batchSize?: number;
}

/** The most documents sales-gen hands the store in one write (memory stays bounded at any scale). */
export const MAX_BATCH = 20_000;

/** The sales generator service. Throws a ConfigError naming the setting when a setting is unusable. */
export function createSalesGenService(deps: SalesGenServiceDeps): Service {
  const problem = generationProblem(deps.generators);
  if (problem) throw SalesGenErrors.badSetting(problem);
  if (typeof deps.generators.piiHmacKey !== 'string' || deps.generators.piiHmacKey.length < 16)
    throw SalesGenErrors.badPiiKey();
  if (!deps.collection) throw SalesGenErrors.badCollection(deps.collection);
  const batchSize = Math.min(MAX_BATCH, Math.max(1, Math.floor(deps.batchSize ?? MAX_BATCH)));
  return {
    name: 'sales-gen',
    consumes: ['mlops.pipeline.started.v1'],
    handle: (event, context) =>
      generateSalesDay(
        { documents: deps.documents, collection: deps.collection, generators: deps.generators, batchSize },
        event as CloudEvent<'mlops.pipeline.started.v1'>,
        context,
      ),
  };
}
