import { type Platform, type Service } from '@mlops/kernel';
import { countBuiltRows } from './row-counts.js';
import { createTransformerService } from './transformer.service.js';

/**
 * The transformer composed on a platform: the ledger in the document store, the lake, and the runner
 * of the mode: DuckDB in write sessions on the platform's warehouse (local, emulator), or the
 * Dataform API (gcp), whose row counts are read through the platform's warehouse (BigQuery).
 */
export async function transformerFromPlatform(platform: Platform): Promise<Service> {
  const { config } = platform;
  const runner = await platform.createTransformRunner({
    ...(config.mode === 'gcp' ? { countRows: countBuiltRows(platform.warehouse) } : {}),
  });
  return createTransformerService({
    documents: platform.documents,
    runner,
    objects: platform.objects,
    maxDatesPerRun: config.transformer.maxDatesPerRun,
    ...(config.transformer.maxRowsPerRun === undefined ? {} : { maxRowsPerRun: config.transformer.maxRowsPerRun }),
    publisher: platform.bus,
    deadLetters: platform.bus,
  });
}
