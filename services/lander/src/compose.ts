import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Platform, type Service } from '@mlops/kernel';
import { createLanderService } from './lander.service.js';

/** The lander composed on a platform: the document store, the lake and the platform's Parquet writer. */
export function landerFromPlatform(platform: Platform): Service {
  const tempDir = join(platform.config.home, 'tmp', 'lander');
  mkdirSync(tempDir, { recursive: true });
  return createLanderService({
    documents: platform.documents,
    objects: platform.objects,
    parquet: platform.createParquetWriter(),
    tempDir,
  });
}
