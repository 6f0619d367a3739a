import type { Platform, Service } from '@mlops/kernel';
import { createClickGenService } from './click-gen.service.js';

/** The clickstream generator composed on a platform: the lake and the generator settings. */
export function clickGenFromPlatform(platform: Platform): Service {
  return createClickGenService({ objects: platform.objects, generators: platform.config.generators });
}
