/**
 * Waiting on the run ledger, as `mlops backfill --attach` does, for the stages the rehearsal runs:
 * a stage whose service a rehearsal leaves out of the chain stays open in the ledger, so it is not
 * waited for (every stage is rehearsed now, the trainer's on the Vertex AI stand-in).
 */
import type { RunProgress, RunWatcher } from '../../cli/src/stack/wait.js';

/** Whether every run is in the ledger and every stage of it is closed, apart from `notRehearsed`. */
export function closedApartFrom(progress: RunProgress, runIds: ReadonlySet<string>, notRehearsed: ReadonlySet<string>) {
  if (progress.runs.length < runIds.size) return false;
  return progress.runs.every((run) => {
    const open = run.stages.filter((stage) => notRehearsed.has(stage.stage) && stage.status === 'running').length;
    return run.stagesClosed + open >= run.stagesExpected;
  });
}

/** Poll until the runs closed; throws past the timeout or when aborted. */
export async function waitForRunsToClose(
  watcher: RunWatcher,
  options: {
    runIds: ReadonlySet<string>;
    notRehearsed: ReadonlySet<string>;
    timeoutS: number;
    signal?: AbortSignal;
    say: (line: string) => void;
  },
): Promise<RunProgress> {
  const deadline = Date.now() + options.timeoutS * 1000;
  let shown = '';
  for (;;) {
    const progress = await watcher.poll();
    if (closedApartFrom(progress, options.runIds, options.notRehearsed)) return progress;
    if (options.signal?.aborted) throw new Error('stopped');
    if (Date.now() > deadline)
      throw new Error(
        `the gcp run did not close every date within ${options.timeoutS} s (${progress.done}/${progress.total} stages)`,
      );
    const line = `gcp run: ${progress.done}/${progress.total} stages closed`;
    if (line !== shown) options.say((shown = line));
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}
