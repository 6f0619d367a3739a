import { describe, expect, it } from 'vitest';
import type { LedgerEntry } from '@mlops/kernel';
import { formatStageTimes, stageTimes, unionMs } from '../src/stage-times.js';

const T0 = Date.parse('2026-12-01T00:00:00Z');
const at = (s: number) => new Date(T0 + s * 1000).toISOString();

function entry(
  type: LedgerEntry['type'],
  stage: string,
  startS: number | null,
  endS: number,
  causationId: string | null = 'cause',
): LedgerEntry {
  return {
    eventId: `${type}-${stage}-${endS}`,
    type,
    runId: 'run_1',
    runDate: '2026-11-30',
    time: at(endS),
    stage,
    subject: null,
    summary: {},
    causationId,
    handlingStart: startS === null ? null : at(startS),
    latest: null,
    recordedAt: at(endS),
  };
}

describe('time per phase of npm start', () => {
  it('counts overlapping intervals once and separate ones apart', () => {
    expect(unionMs([])).toBe(0);
    expect(
      unionMs([
        { start: 0, end: 10 },
        { start: 5, end: 15 },
        { start: 20, end: 25 },
        { start: 21, end: 22 },
      ]),
    ).toBe(20);
  });

  it('groups the generators, takes one interval per handling and ignores outputs without a handling start', () => {
    const entries = [
      entry('mlops.pipeline.started.v1', 'cli', null, 0, null),
      entry('mlops.sales.generated.v1', 'sales-gen', 0, 2),
      entry('mlops.bronze.landed.v1', 'click-gen', 1, 3),
      entry('mlops.stage.skipped.v1', 'startup-gen', 5, 6),
      entry('mlops.bronze.landed.v1', 'lander', 2, 4),
      entry('mlops.bronze.landed.v1', 'lander', null, 9),
      entry('mlops.warehouse.ready.v1', 'transformer', 4, 8),
      entry('mlops.model.trained.v1', 'trainer', 8, 11, 'build'),
      entry('mlops.predictions.ready.v1', 'trainer', 8, 12, 'build'),
      entry('mlops.predictions.ready.v1', 'trainer', 8, 14, 'build'),
    ];
    const times = stageTimes(entries, T0);
    expect(times.map((time) => [time.phase, time.busyMs, time.fromMs, time.toMs, time.handlings])).toEqual([
      ['generate', 4000, 0, 6000, 3],
      ['land', 2000, 2000, 4000, 1],
      ['transform', 4000, 4000, 8000, 1],
      ['trainer', 6000, 8000, 14000, 1],
    ]);
    const text = formatStageTimes(times, 15_000);
    expect(text.split('\n')[0]).toMatch(/^phase\s+busy\s+from\s+to\s+handlings$/);
    expect(text).toMatch(/trainer\s+6\.0 s\s+8\.0 s\s+14\.0 s\s+1/);
    expect(text.split('\n').at(-1)).toMatch(/^total\s+15\.0 s\s+0\.0 s\s+15\.0 s$/);
  });

  it("splits the trainer into its pipeline's steps from the log (refit apart from register), each from the line before it to its own", () => {
    const line = (s: number, message: string, service = 'trainer', eventId = 'build') =>
      JSON.stringify({
        severity: 'INFO',
        message,
        time: at(s),
        service,
        eventId,
      });
    const log = [
      line(-5, 'batch_predict: an earlier run'),
      line(8, 'training: last date of the backfill'),
      line(9, 'features: 10 rows'),
      line(9.5, 'features: other service', 'dashboard'),
      line(10, 'train: gbdt in 5 ms'),
      line(10.5, 'evaluate: ROC AUC 0.9'),
      line(10.8, 'refit: gbdt on 20 rows (train + holdout) in 3 ms'),
      line(11, 'register: v-1 registered'),
      'not json',
      line(14, 'batch_predict: 100 rows'),
      line(20, 'predicting only: backfill in progress', 'trainer', 'other'),
      line(21, 'batch_predict: 50 rows', 'trainer', 'other'),
    ].join('\n');
    const times = stageTimes([entry('mlops.model.trained.v1', 'trainer', 8, 14, 'build')], T0, log);
    expect(times.map((time) => [time.phase, time.busyMs, time.fromMs, time.toMs, time.handlings])).toEqual([
      ['trainer', 6000, 8000, 14000, 1],
      ['  features', 1000, 8000, 9000, 1],
      ['  train', 1000, 9000, 10000, 1],
      ['  evaluate', 500, 10000, 10500, 1],
      ['  refit', 300, 10500, 10800, 1],
      ['  register', 200, 10800, 11000, 1],
      ['  batch predict', 4000, 11000, 21000, 2],
    ]);
  });
});
