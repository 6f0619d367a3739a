import { describe, expect, it } from 'vitest';
import { transformRuns } from '../start/start.bench.js';

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
