import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEvent, type AnyEvent } from '@mlops/shared';

/** Poll until the predicate holds, or fail with the description after the timeout. */
export async function waitFor(predicate: () => boolean | Promise<boolean>, description: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await predicate()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}`);
}

/** A temporary folder removed by the returned function. */
export function tempDir(prefix = 'mlops-test-'): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** A valid pipeline.started event for a date. */
export function startEvent(runDate: string, extra: { id?: string } = {}): AnyEvent {
  return createEvent('mlops.pipeline.started.v1', { runDate, trigger: 'cli' }, { source: '//mlops/test', runid: `run_test_${runDate}`, rundate: runDate, ...extra });
}
