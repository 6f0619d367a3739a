import { RunLedger, type Platform, type RunStage } from '@mlops/kernel';
import { duration, table } from '../format.js';
import type { CliIo } from '../io.js';

const MARK: Record<RunStage['status'], string> = {
  succeeded: '',
  running: '…',
  failed: '!',
  skipped: '~',
  blocked: '⊘',
};

/** A stage as `name handled (queued Y)`: handling time, the wait on the bus apart, a later replay too. */
function stageCell(stage: RunStage): string {
  const parts = [`${stage.stage}${MARK[stage.status]}`];
  if (stage.durationMs !== null) parts.push(duration(stage.durationMs));
  if (stage.queuedMs !== null && stage.queuedMs >= 1) parts.push(`(queued ${duration(stage.queuedMs)})`);
  if (stage.latest) parts.push(`[replayed: ${duration(stage.latest.durationMs)}]`);
  return parts.join(' ');
}

/** `mlops status`: runs with their stages, handling and queue times, subscriptions, dead letters. */
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
        ['run', 'date', 'trigger', 'status', 'started', 'stages (handled, queued; ~ skipped, ! failed, ⊘ blocked)'],
        runs.map((run) => [
          run.runId,
          run.runDate,
          run.trigger ?? '',
          run.status,
          run.startedAt.replace('T', ' ').slice(0, 19),
          run.stages.map(stageCell).join(', '),
        ]),
      ),
    );
    const notes = runs.flatMap((run) =>
      run.stages
        .filter((stage) => stage.detail && ['failed', 'blocked', 'skipped'].includes(stage.status))
        .map((stage) => `${run.runDate} ${stage.stage} ${stage.status}: ${stage.detail}`),
    );
    if (notes.length > 0) io.out(`\n${notes.slice(0, 20).join('\n')}${notes.length > 20 ? '\n...' : ''}`);
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
