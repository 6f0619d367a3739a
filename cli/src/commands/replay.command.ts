import type { Platform, Topic } from '@mlops/shared';
import type { CliIo } from '../io.js';
import { duration } from '../format.js';
import { startInProcessStack } from '../stack/in-process.js';
import { waitForRuns } from '../stack/wait.js';

/**
 * `mlops replay --topic T... --since TIME`: schedule redelivery of everything published on the
 * topics since the time. In the embedded mode the services then run here until the bus is quiet;
 * with `--attach` (services elsewhere) the command only schedules.
 */
export async function replayCommand(
  platform: Platform,
  command: { topics: Topic[]; since: Date; subscription: string | undefined; attach: boolean; timeoutS: number },
  io: CliIo,
): Promise<number> {
  const stack = command.attach ? undefined : await startInProcessStack(platform);
  try {
    for (const topic of command.topics) {
      const n = await platform.bus.replay({
        topic,
        since: command.since,
        ...(command.subscription ? { subscription: command.subscription } : {}),
      });
      io.out(
        `replaying ${n} deliver${n === 1 ? 'y' : 'ies'} of ${topic} since ${command.since.toISOString()}${command.subscription ? ` to ${command.subscription}` : ''}`,
      );
    }
    if (stack) {
      const started = performance.now();
      await waitForRuns(platform, { runIds: new Set(), dates: [], inProcess: true, timeoutS: command.timeoutS });
      io.out(`replay finished in ${duration(performance.now() - started)}: every subscription is idle`);
    }
    return 0;
  } finally {
    await stack?.close();
  }
}
