import type { Platform, Service } from '@mlops/kernel';
import { createSalesGenService } from './sales-gen.service.js';

/** The sales generator composed on a platform: its document store, collection and generator settings. */
export function salesGenFromPlatform(platform: Platform): Service {
  return createSalesGenService({
    documents: platform.documents,
    collection: platform.config.documents.salesCollection,
    generators: platform.config.generators,
  });
}
