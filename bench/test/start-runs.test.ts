import { describe, expect, it } from 'vitest';
import { rssByPhase, transformRuns } from '../start/start.bench.js';

describe('bench/start: the transform runs of a JSON log', () => {
  it('reads the runner line per finished run and skips every other line, a partial one included', () => {
    const log = [
      JSON.stringify({ severity: 'INFO', message: 'handled mlops.bronze.landed.v1', durationMs: 12 }),
      JSON.stringify({
        message: 'transform run of 18 date(s) on 1 DuckDB thread(s)',
        dates: 18,
        threads: 1,
        durationMs: 51_250,
      }),
      JSON.stringify({
        message: 'transform run of 9 date(s) on 2 DuckDB thread(s)',
        dates: 9,
        threads: 2,
        freeCores: 1.8,
        durationMs: 20_500,
      }),
      '{"message":"transform run of 3 date(s) on 2 DuckDB',
    ].join('\n');
    expect(transformRuns(log)).toEqual([
      { dates: 18, threads: 1, seconds: 51.25 },
      { dates: 9, threads: 2, seconds: 20.5 },
    ]);
  });
});

describe('bench/start: peak RSS by phase', () => {
  it("counts a high-water mark that rose between two samples in the later sample's phase", () => {
    const phases = [
      { phase: 'generate', busyS: 1, fromS: 0, toS: 2 },
      { phase: 'transform', busyS: 3, fromS: 2, toS: 5 },
      { phase: 'trainer', busyS: 1, fromS: 5, toS: 8 },
      { phase: 'total', busyS: 8, fromS: 0, toS: 8 },
    ];
    // Booted in 1 s (9 s of wall, 8 s of command); a spike to 1,000 MB between 3.7 and 4 s.
    const samples = [
      { s: 1.5, kb: 300 * 1024, hwmKb: 300 * 1024 },
      { s: 3.7, kb: 800 * 1024, hwmKb: 820 * 1024 },
      { s: 4, kb: 790 * 1024, hwmKb: 1000 * 1024 },
      { s: 7, kb: 500 * 1024, hwmKb: 1000 * 1024 },
      { s: 8.5, kb: 400 * 1024 },
    ];
    expect(rssByPhase(samples, phases, 9)).toEqual([
      { phase: 'generate', peakMb: 300 },
      { phase: 'transform', peakMb: 1000 },
      { phase: 'trainer', peakMb: 500 },
    ]);
  });
});
