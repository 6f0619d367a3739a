import type { Platform, Service } from '@mlops/kernel';
import { clickGenFromPlatform } from '@mlops/click-gen';
import { landerFromPlatform } from '@mlops/lander';
import { salesGenFromPlatform } from '@mlops/sales-gen';
import { startupGenFromPlatform } from '@mlops/startup-gen';

/** The per-day services that may run in a worker thread: none of them opens the warehouse. */
const PER_DAY = {
  'sales-gen': salesGenFromPlatform,
  'click-gen': clickGenFromPlatform,
  'startup-gen': startupGenFromPlatform,
  lander: landerFromPlatform,
} as const;

export type WorkerServiceName = keyof typeof PER_DAY;

/** The named per-day services composed on a platform, in the given order. */
export function composeNamed(platform: Platform, names: readonly WorkerServiceName[]): Service[] {
  return names.map((name) => {
    const compose = Object.hasOwn(PER_DAY, name) ? PER_DAY[name] : undefined;
    if (!compose) throw new Error(`${name}: no such per-day service (${Object.keys(PER_DAY).join(', ')})`);
    return compose(platform);
  });
}
