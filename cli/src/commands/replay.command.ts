import type { Platform, ReplayResult, Topic } from '@mlops/kernel';
import type { CliIo } from '../io.js';
import { duration } from '../format.js';
import { startInProcessStack } from '../stack/in-process.js';
import { waitForRuns } from '../stack/wait.js';

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** What a replay did, as the transport reports it: subscriptions rewound, deliveries when counted. */
export function replayLine(topic: Topic, since: Date, result: ReplayResult, subscription: string | undefined): string {
  const deliveries =
    result.deliveries === undefined
      ? ''
      : `: ${result.deliveries} ${result.deliveries === 1 ? 'delivery' : 'deliveries'} scheduled`;
  const rewound =
    result.subscriptions === 0
      ? 'no subscription'
      : subscription
        ? `subscription ${subscription}`
        : plural(result.subscriptions, 'subscription');
  return `rewound ${rewound} of ${topic} to ${since.toISOString()}${deliveries}`;
}

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
    const since = new Date();
    for (const topic of command.topics) {
      const result = await platform.bus.replay({
        topic,
        since: command.since,
        ...(command.subscription ? { subscription: command.subscription } : {}),
      });
      io.out(replayLine(topic, command.since, result, command.subscription));
    }
    if (stack) {
      const started = performance.now();
      await waitForRuns(platform, { runIds: new Set(), since, inProcess: true, timeoutS: command.timeoutS });
      io.out(`replay finished in ${duration(performance.now() - started)}: every subscription is idle`);
    }
    return 0;
  } finally {
    await stack?.close();
  }
}
