import type { Platform, Service } from '@mlops/kernel';
import { createStartupGenService } from './startup-gen.service.js';

/** The startups generator composed on a platform: the lake and the generator settings. */
export function startupGenFromPlatform(platform: Platform): Service {
  return createStartupGenService({ objects: platform.objects, generators: platform.config.generators });
}
