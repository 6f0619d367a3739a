import { cpus } from 'node:os';
import { describe, expect, it } from 'vitest';
import {
  EXTRA_THREAD_MEMORY_SHARE,
  idleCores,
  isLargeRun,
  LARGE_RUN_FROM_ROWS_PER_DATE,
  machineCpuTimes,
  runMemoryLimit,
  runThreads,
  sampleFreeCores,
  sizeBytes,
  threadsFollowLoad,
} from '../../src/dataform/transform-threads.js';

const LARGE = LARGE_RUN_FROM_ROWS_PER_DATE;

describe('runThreads: the DuckDB threads of a transform run', () => {
  it('auto, small dates: the warehouse setting (0), whatever the free cores', () => {
    expect(runThreads('auto', 60, 60 * 2_100, 2, 2)).toBe(0); // scale 1
    expect(runThreads(undefined, 2, 2 * LARGE - 1, 2, 2)).toBe(0);
    expect(runThreads('auto', 2, 2 * LARGE - 1, 0, 2)).toBe(0);
  });

  it('auto, unknown landed rows: one thread', () => {
    expect(runThreads('auto', 3, undefined, 2, 2)).toBe(1);
    expect(runThreads('auto', 0, 0, 2, 2)).toBe(1);
  });

  it('auto, large dates: the free cores, rounded at half a core, at least one, at most maxThreads', () => {
    expect(runThreads('auto', 2, 2 * LARGE, 2, 2)).toBe(2);
    expect(runThreads('auto', 18, 18 * 22_000, 1.5, 2)).toBe(2); // scale 10, one core and a half idle
    expect(runThreads('auto', 18, 18 * 22_000, 1.49, 2)).toBe(1);
    expect(runThreads('auto', 18, 18 * 22_000, 1, 2)).toBe(1); // the lander keeps a core busy
    expect(runThreads('auto', 18, 18 * 22_000, 0, 2)).toBe(1);
    expect(runThreads('auto', 18, 18 * 22_000, 7.8, 4)).toBe(4);
    expect(runThreads('auto', 18, 18 * 22_000, 2, 1)).toBe(1);
    expect(runThreads('auto', 18, 18 * 22_000, Number.NaN, 2)).toBe(1); // no CPU times on this platform
  });

  it('a number is taken as it is (0: the warehouse setting), whatever the load', () => {
    expect(runThreads(2, 9, 9 * 22_000, 0, 2)).toBe(2);
    expect(runThreads(0, 9, 9 * 22_000, 2, 2)).toBe(0);
    expect(runThreads(1, 60, 100, 2, 2)).toBe(1);
    expect(runThreads(-3, 1, 1, 2, 2)).toBe(0);
  });

  it('samples the free cores only for an auto run of large dates', () => {
    expect(threadsFollowLoad('auto', 2, 2 * LARGE)).toBe(true);
    expect(threadsFollowLoad(undefined, 2, 2 * LARGE)).toBe(true);
    expect(threadsFollowLoad('auto', 2, 2 * LARGE - 1)).toBe(false);
    expect(threadsFollowLoad('auto', 2)).toBe(false);
    expect(threadsFollowLoad(1, 2, 2 * LARGE)).toBe(false);
  });
});

describe('the memory limit of a large run', () => {
  it('is the one-thread limit on one thread and grows by EXTRA_THREAD_MEMORY_SHARE a further thread', () => {
    expect(EXTRA_THREAD_MEMORY_SHARE).toBe(0.5);
    expect(runMemoryLimit('1GB', 1)).toBe('1GB');
    expect(runMemoryLimit('1GB', 0)).toBe('1GB');
    expect(runMemoryLimit('1GB', 2)).toBe('1500MB');
    expect(runMemoryLimit('1GB', 4)).toBe('2500MB');
    expect(runMemoryLimit('1GiB', 2)).toBe('1611MB');
    expect(runMemoryLimit(undefined, 2)).toBeUndefined();
    expect(runMemoryLimit('lots', 2)).toBeUndefined();
  });
});

describe('free cores', () => {
  it('are the idle share of the CPU time elapsed between two readings, times the cores', () => {
    expect(idleCores({ busy: 1000, total: 4000 }, { busy: 1100, total: 4400 }, 2)).toBeCloseTo(1.5);
    expect(idleCores({ busy: 0, total: 0 }, { busy: 400, total: 400 }, 2)).toBe(0);
    expect(idleCores({ busy: 0, total: 0 }, { busy: 0, total: 400 }, 2)).toBe(2);
    expect(idleCores({ busy: 5, total: 9 }, { busy: 5, total: 9 }, 2)).toBeNaN();
  });

  it('are sampled from this machine within its cores', async () => {
    const before = machineCpuTimes();
    expect(before.total).toBeGreaterThan(before.busy);
    const free = await sampleFreeCores(50);
    expect(free).toBeGreaterThanOrEqual(0);
    expect(free).toBeLessThanOrEqual(cpus().length);
  });
});

describe('large runs and DuckDB sizes', () => {
  it('a run is large from LARGE_RUN_FROM_ROWS_PER_DATE landed rows a date, and only when rows are known', () => {
    expect(isLargeRun(19, 19 * 22_000)).toBe(true);
    expect(isLargeRun(2, 2 * LARGE)).toBe(true);
    expect(isLargeRun(2, 2 * LARGE - 1)).toBe(false);
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
