import { createEvent, type AnyEvent } from '@mlops/kernel';

export { tempDir, waitFor } from './index.js';

/** A valid pipeline.started event for a date. */
export function startEvent(runDate: string, extra: { id?: string } = {}): AnyEvent {
  return createEvent(
    'mlops.pipeline.started.v1',
    { runDate, trigger: 'cli' },
    { source: '//mlops/test', runid: `run_test_${runDate}`, rundate: runDate, ...extra },
  );
}
