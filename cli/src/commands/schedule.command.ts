import type { Platform } from '@mlops/kernel';
import type { CliIo } from '../io.js';
import { startEvent, utcDateBefore } from '../start-events.js';

/** Milliseconds from `now` until the next HH:MM UTC. */
export function msUntil(at: string, now: Date): number {
  const [hours, minutes] = at.split(':').map(Number) as [number, number];
  const next = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), hours, minutes));
  if (next.getTime() <= now.getTime()) next.setUTCDate(next.getUTCDate() + 1);
  return next.getTime() - now.getTime();
}

/**
 * `mlops schedule`: the platform's only clock. Publishes `pipeline.started` for the previous UTC
 * day, at a time of day or once; everything else follows from events.
 */
export async function scheduleCommand(
  platform: Platform,
  command: { at: string; once: boolean; date: string | undefined },
  io: CliIo,
  signal?: AbortSignal,
): Promise<number> {
  const publish = async (runDate: string) => {
    const event = startEvent({
      runDate,
      trigger: 'schedule',
      scale: platform.config.generators.scale,
      seed: platform.config.generators.seed,
    });
    await platform.bus.publish(event);
    io.out(`published pipeline.started for ${runDate} (run ${event.runid})`);
  };
  if (command.once) {
    await publish(command.date ?? utcDateBefore(new Date(), 1));
    return 0;
  }
  io.out(`scheduler: publishing the previous day's run every day at ${command.at} UTC`);
  while (!signal?.aborted) {
    const wait = msUntil(command.at, new Date());
    const aborted = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), wait);
      signal?.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    if (aborted) break;
    await publish(utcDateBefore(new Date(), 1));
  }
  return 0;
}
