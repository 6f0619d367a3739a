import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Platform, type Service } from '@mlops/kernel';
import { createLanderService } from './lander.service.js';

/** The lander composed on a platform: the document store, the lake and the platform's Parquet writer. */
export function landerFromPlatform(platform: Platform): Service {
  const tempDir = join(platform.config.home, 'tmp', 'lander');
  mkdirSync(tempDir, { recursive: true });
  const parquet = platform.createParquetWriter();
  // The engine starts while the lander waits for its first day; a failure shows again on first use.
  parquet.warmUp?.().catch(() => undefined);
  return createLanderService({ documents: platform.documents, objects: platform.objects, parquet, tempDir });
}
