import type { Platform, Topic } from '@mlops/shared';
import type { CliIo } from '../io.js';

/** `mlops replay --topic T --since TIME`: schedule redelivery; the services do the rest. */
export async function replayCommand(platform: Platform, command: { topic: Topic; since: Date; subscription: string | undefined }, io: CliIo): Promise<number> {
  const n = await platform.bus.replay({ topic: command.topic, since: command.since, ...(command.subscription ? { subscription: command.subscription } : {}) });
  io.out(`replaying ${n} deliver${n === 1 ? 'y' : 'ies'} of ${command.topic} since ${command.since.toISOString()}${command.subscription ? ` to ${command.subscription}` : ''}`);
  return 0;
}
