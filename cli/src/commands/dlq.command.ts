import type { Platform } from '@mlops/shared';
import { table } from '../format.js';
import type { CliIo } from '../io.js';

/** `mlops dlq list|redrive`. */
export async function dlqCommand(
  platform: Platform,
  command: {
    action: 'list' | 'redrive';
    ids: string[];
    subscription: string | undefined;
    limit: number;
    json: boolean;
  },
  io: CliIo,
): Promise<number> {
  if (command.action === 'redrive') {
    const n = await platform.bus.redrive({
      ...(command.ids.length > 0 ? { ids: command.ids } : {}),
      ...(command.subscription ? { subscription: command.subscription } : {}),
    });
    io.out(`redrove ${n} dead letter${n === 1 ? '' : 's'}`);
    return 0;
  }
  const letters = await platform.bus.listDeadLetters({
    limit: command.limit,
    ...(command.subscription ? { subscription: command.subscription } : {}),
  });
  if (command.json) {
    io.out(
      JSON.stringify(
        letters.map(({ message: _message, ...letter }) => letter),
        null,
        2,
      ),
    );
    return 0;
  }
  if (letters.length === 0) {
    io.out('no dead letters');
    return 0;
  }
  io.out(
    table(
      ['id', 'dead at', 'subscription', 'event type', 'run', 'attempts', 'code', 'reason'],
      letters.map((l) => [
        l.id,
        l.deadAt.toISOString(),
        l.subscription,
        l.eventType ?? '?',
        l.runId ?? '',
        l.attempts,
        l.code,
        l.reason.slice(0, 100),
      ]),
    ),
  );
  return 0;
}
