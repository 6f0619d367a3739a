import { RunLedger, type Platform } from '@mlops/shared';
import { duration, table } from '../format.js';
import type { CliIo } from '../io.js';

/** `mlops status`: runs with their stages and timings, subscriptions, dead letters. */
export async function statusCommand(
  platform: Platform,
  command: { limit: number; json: boolean },
  io: CliIo,
): Promise<number> {
  const runs = await new RunLedger(platform.documents).runs({ limit: command.limit });
  const subscriptions = await platform.bus.stats();
  const deadLetters = await platform.bus.listDeadLetters({ limit: 20 });
  if (command.json) {
    io.out(
      JSON.stringify(
        { runs, subscriptions, deadLetters: deadLetters.map(({ message: _m, ...rest }) => rest) },
        null,
        2,
      ),
    );
    return 0;
  }
  io.out(`mode ${platform.config.mode}, state in ${platform.config.home}\n`);
  if (runs.length === 0) io.out('no runs yet: try `mlops run --date 2026-01-01`');
  else {
    io.out(
      table(
        ['run', 'date', 'trigger', 'status', 'started', 'stages (duration)'],
        runs.map((run) => [
          run.runId,
          run.runDate,
          run.trigger ?? '',
          run.status,
          run.startedAt.replace('T', ' ').slice(0, 19),
          run.stages
            .map((stage) =>
              `${stage.stage}${stage.status === 'failed' ? '!' : stage.status === 'running' ? '…' : ''} ${duration(stage.durationMs)}`.trim(),
            )
            .join(', '),
        ]),
      ),
    );
  }
  io.out('');
  io.out(
    table(
      ['subscription', 'topic', 'pending', 'in flight', 'acked', 'dead'],
      subscriptions.map((s) => [s.subscription, s.topic, s.pending, s.inFlight, s.acked, s.dead]),
    ),
  );
  io.out(
    `\n${deadLetters.length === 0 ? 'no dead letters' : `${deadLetters.length}${deadLetters.length === 20 ? '+' : ''} dead letters: see \`mlops dlq list\``}`,
  );
  return 0;
}
