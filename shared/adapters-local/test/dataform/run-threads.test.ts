import { describe, expect, it } from 'vitest';
import {
  isLargeRun,
  ONE_THREAD_FROM_ROWS_PER_DATE,
  runThreads,
  sizeBytes,
} from '../../src/dataform/duckdb-transform-runner.adapter.js';

describe('runThreads: the DuckDB threads of a transform run', () => {
  it('auto: one thread for large dates or unknown rows, the warehouse setting (0) for small dates', () => {
    expect(runThreads('auto', 9, 9 * 22_000)).toBe(1); // scale 10
    expect(runThreads(undefined, 60, 60 * 2_100)).toBe(0); // scale 1
    expect(runThreads('auto', 2, 2 * ONE_THREAD_FROM_ROWS_PER_DATE)).toBe(1);
    expect(runThreads('auto', 2, 2 * ONE_THREAD_FROM_ROWS_PER_DATE - 1)).toBe(0);
    expect(runThreads('auto', 3)).toBe(1);
    expect(runThreads('auto', 0, 0)).toBe(1);
  });

  it('a number is taken as it is (0: the warehouse setting)', () => {
    expect(runThreads(2, 9, 9 * 22_000)).toBe(2);
    expect(runThreads(0, 9, 9 * 22_000)).toBe(0);
    expect(runThreads(1, 60, 100)).toBe(1);
    expect(runThreads(-3, 1, 1)).toBe(0);
  });
});

describe('large runs and DuckDB sizes', () => {
  it('a run is large from ONE_THREAD_FROM_ROWS_PER_DATE landed rows a date, and only when rows are known', () => {
    expect(isLargeRun(19, 19 * 22_000)).toBe(true);
    expect(isLargeRun(60, 60 * 2_100)).toBe(false);
    expect(isLargeRun(3)).toBe(false);
    expect(isLargeRun(0, 100_000)).toBe(false);
  });

  it('reads the sizes DuckDB takes and reports', () => {
    expect(sizeBytes('512MB')).toBe(512e6);
    expect(sizeBytes('1GB')).toBe(1e9);
    expect(sizeBytes('488.2 MiB')).toBeCloseTo(488.2 * 1024 ** 2);
    expect(sizeBytes('1.5GiB')).toBe(1.5 * 1024 ** 3);
    expect(sizeBytes('lots')).toBeNaN();
    expect(sizeBytes('1GB') > sizeBytes('488.2 MiB')).toBe(true);
  });
});
