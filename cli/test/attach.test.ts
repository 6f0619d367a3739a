/**
 * `--attach` ends when every stage of every run has closed in the run ledger, in success or
 * failure, and never by its timeout: with no model yet (not enough history), when the date was
 * already built, and for a backfill window overlapping built dates. The services run as a stack in
 * this process on the embedded bus; the CLI side only publishes and watches the ledger.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPlatform } from '@mlops/platform';
import { loadConfig, silentLogger, type Platform, type RunSummary } from '@mlops/kernel';
import { runDates } from '../src/commands/run.command.js';
import type { CliIo } from '../src/io.js';
import { startInProcessStack, type InProcessStack } from '../src/stack/in-process.js';
import { RunWatcher } from '../src/stack/wait.js';

const io: CliIo & { lines: string[] } = {
  lines: [],
  tty: false,
  out: (t) => void io.lines.push(t),
  err: (t) => void io.lines.push(t),
};

/** Long enough never to be what ends a wait here: a run that reaches it fails the test. */
const TIMEOUT_S = 900;

describe('--attach against a running stack', () => {
  const home = mkdtempSync(join(tmpdir(), 'mlops-attach-'));
  let platform: Platform;
  let stack: InProcessStack;
  beforeAll(async () => {
    platform = await createPlatform(loadConfig({ MLOPS_HOME: home, MLOPS_SCALE: '0.2' }), { log: silentLogger });
    stack = await startInProcessStack(platform);
  }, 120_000);
  afterAll(async () => {
    await stack?.close();
    await platform?.close();
    rmSync(home, { recursive: true, force: true });
  });

  async function attach(dates: string[], backfill: boolean) {
    const started = Date.now();
    const since = new Date();
    const result = await runDates(
      platform,
      {
        dates,
        trigger: backfill ? 'backfill' : 'cli',
        scale: undefined,
        seed: undefined,
        retrain: false,
        attach: true,
        timeoutS: TIMEOUT_S,
        backfill,
        label: 'attach',
      },
      io,
    );
    expect(Date.now() - started).toBeLessThan(TIMEOUT_S * 1000);
    const progress = await new RunWatcher(platform, result.runIds, since).poll();
    expect(progress.settled).toBe(true);
    const runs = new Map(progress.runs.map((run) => [run.runDate, run]));
    return { result, runs, progress };
  }

  const stage = (run: RunSummary | undefined, name: string) => run?.stages.find((s) => s.stage === name);

  it('ends when the first date has no model yet: the run succeeds with the note', async () => {
    const { result, runs, progress } = await attach(['2026-05-04'], false);
    expect(result.failed).toBe(false);
    const run = runs.get('2026-05-04');
    expect(run).toMatchObject({ status: 'succeeded', stagesExpected: 6, stagesClosed: 6 });
    expect(stage(run, 'transformer')!.status).toBe('succeeded');
    expect(stage(run, 'trainer')).toMatchObject({
      status: 'skipped',
      detail: expect.stringMatching(/^no model yet: /),
    });
    expect(progress.done).toBe(progress.total);
    expect(io.lines.some((line) => /attach: 6\/6 stages closed/.test(line))).toBe(true);
  }, 900_000);

  it('ends when the date was already built: the transformer closes as skipped', async () => {
    const { result, runs } = await attach(['2026-05-04'], false);
    expect(result.failed).toBe(false);
    const run = runs.get('2026-05-04');
    expect(run).toMatchObject({ status: 'succeeded', stagesExpected: 5, stagesClosed: 5 });
    expect(stage(run, 'transformer')).toMatchObject({
      status: 'skipped',
      detail: '2026-05-04 was already built from these partitions',
    });
    expect(stage(run, 'trainer')).toBeUndefined();
  }, 900_000);

  it('ends for a backfill window overlapping a built date: that date is skipped, the others built', async () => {
    const { result, runs } = await attach(['2026-05-03', '2026-05-04', '2026-05-05'], true);
    expect(result.failed).toBe(false);
    expect([...runs.values()].map((run) => run.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(stage(runs.get('2026-05-04'), 'transformer')!.status).toBe('skipped');
    expect(stage(runs.get('2026-05-03'), 'transformer')!.status).toBe('succeeded');
    expect(stage(runs.get('2026-05-05'), 'transformer')!.status).toBe('succeeded');
    // The build carried by the last date's run: its trainer closes with why nothing was scored.
    expect(stage(runs.get('2026-05-05'), 'trainer')).toMatchObject({ status: 'skipped' });
  }, 900_000);
});
