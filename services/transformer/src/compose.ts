import { createTransformRunner, duckDbWarehouseLease, type Platform, type Service } from '@mlops/shared';
import { createTransformerService } from './transformer.service.js';

/**
 * The transformer composed on a platform: the ledger in the document store, the lake, and the runner
 * of the mode: DuckDB on the platform's warehouse (local: one process shares the open file), DuckDB
 * on a per-run lease of the file (emulator: other processes open it between runs), or the Dataform
 * API (gcp).
 */
export async function transformerFromPlatform(platform: Platform): Promise<Service> {
  const { config } = platform;
  const warehouse =
    config.mode === 'local'
      ? await platform.warehouse()
      : config.mode === 'emulator'
        ? duckDbWarehouseLease({ path: config.warehouse.path })
        : undefined;
  const runner = await createTransformRunner({ config, ...(warehouse ? { warehouse } : {}) });
  return createTransformerService({
    documents: platform.documents,
    runner,
    objects: platform.objects,
    maxDatesPerRun: config.transformer.maxDatesPerRun,
    publisher: platform.bus,
  });
}
