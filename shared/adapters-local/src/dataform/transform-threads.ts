/**
 * The DuckDB threads and memory limit of one transform run (see `DuckDbTransformRunner`).
 *
 * A run of large dates (scale ~4 up) holds the features' 90-day lookback in window and join
 * operators: on one thread it fits a memory limit about half of what two threads need, and spends
 * less CPU. But on a machine with a core to spare, one thread leaves that core idle for the whole
 * post-landing tail of a long backfill. So a large run takes the cores the machine has free when it
 * starts, each with its share of memory; while other work keeps the cores busy (the lander, the
 * generators, other processes) it takes one. The free cores are sampled over a short window just
 * before the run, when this runner runs nothing: the 1-minute load average lags a minute behind,
 * longer than a run.
 */
import { availableParallelism, cpus } from 'node:os';

/** Landed rows per run date from which a run is large (scale 1 lands ~2,100 a date, scale 10 ~22,000). */
export const LARGE_RUN_FROM_ROWS_PER_DATE = 8_000;

/** Whether a run's dates are large (landed rows per date known and at least the threshold). */
export function isLargeRun(runDates: number, landedRows?: number): boolean {
  return landedRows !== undefined && runDates > 0 && landedRows / runDates >= LARGE_RUN_FROM_ROWS_PER_DATE;
}

/**
 * The share of a core that must be idle for a large run to take it: with 2 cores, a run takes two
 * threads when at least 1.5 cores are idle (one for its first thread, most of the other for its second).
 */
export const FREE_CORE_SHARE = 0.5;

/**
 * The DuckDB threads a run asks for (0: the warehouse's own setting). A number is taken as it is.
 * `auto`: the warehouse's setting for small dates; one thread when the landed rows are not known;
 * for large dates, the free cores (rounded at {@link FREE_CORE_SHARE}), at least one, at most
 * `maxThreads`.
 */
export function runThreads(
  threads: number | 'auto' | undefined,
  runDates: number,
  landedRows: number | undefined,
  freeCores: number,
  maxThreads: number,
): number {
  if (threads !== undefined && threads !== 'auto') return Math.max(0, Math.floor(threads));
  if (landedRows === undefined || runDates === 0) return 1;
  if (!isLargeRun(runDates, landedRows)) return 0;
  const free = Number.isFinite(freeCores) ? Math.floor(freeCores + FREE_CORE_SHARE) : 1;
  return Math.max(1, Math.min(Math.max(1, Math.floor(maxThreads)), free));
}

/**
 * Whether a run's thread count depends on the free cores (only then are they sampled): `auto` on
 * large dates.
 */
export function threadsFollowLoad(
  threads: number | 'auto' | undefined,
  runDates: number,
  landedRows?: number,
): boolean {
  return (threads === undefined || threads === 'auto') && isLargeRun(runDates, landedRows);
}

/**
 * Memory each thread past the first adds to a large run's limit, as a share of the one-thread limit:
 * two threads hold about 1.5 times the memory of one in the features' window and join operators.
 */
export const EXTRA_THREAD_MEMORY_SHARE = 0.5;

/**
 * DuckDB's memory limit for a large run on `threads` threads: the one-thread limit, and
 * {@link EXTRA_THREAD_MEMORY_SHARE} of it more for each further thread (in MB, DuckDB's syntax).
 * Undefined when there is no one-thread limit or it is not a size.
 */
export function runMemoryLimit(oneThread: string | undefined, threads: number): string | undefined {
  if (oneThread === undefined) return undefined;
  const bytes = sizeBytes(oneThread);
  if (!Number.isFinite(bytes)) return undefined;
  if (threads <= 1) return oneThread;
  return `${Math.round((bytes * (1 + (threads - 1) * EXTRA_THREAD_MEMORY_SHARE)) / 1e6)}MB`;
}

/** Bytes of a DuckDB size (`512MB`, `1.5 GiB`, `488.2 MiB`); NaN when it is not one. */
export function sizeBytes(size: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B|bytes?)\s*$/i.exec(size);
  if (!match) return Number.NaN;
  const unit = match[2]!.toUpperCase();
  if (unit.startsWith('BYTE')) return Number(match[1]);
  const power = 'KMGT'.indexOf(unit[0]!) + 1;
  return Number(match[1]) * (unit.includes('I') ? 1024 : 1000) ** power;
}

/** Busy and total CPU time of the machine so far, summed over its cores (ms). */
export interface CpuTimes {
  busy: number;
  total: number;
}

/** The machine's CPU times now (Node's `os.cpus()`: `/proc/stat` on Linux). */
export function machineCpuTimes(): CpuTimes {
  let busy = 0;
  let total = 0;
  for (const { times } of cpus()) {
    const used = times.user + times.nice + times.sys + times.irq;
    busy += used;
    total += used + times.idle;
  }
  return { busy, total };
}

/**
 * Idle cores between two readings of the machine's CPU times: the idle share of the elapsed CPU
 * time, times the cores. NaN when no time elapsed (the reading is not usable).
 */
export function idleCores(before: CpuTimes, after: CpuTimes, cores: number): number {
  const total = after.total - before.total;
  if (!(total > 0)) return Number.NaN;
  const idle = total - (after.busy - before.busy);
  return (Math.max(0, Math.min(total, idle)) / total) * cores;
}

/** How a runner learns the machine's free cores now (injected by tests). */
export type FreeCoresSampler = () => Promise<number>;

/** Window over which {@link sampleFreeCores} measures the idle cores. */
export const FREE_CORES_SAMPLE_MS = 100;

/**
 * The machine's idle cores over the next `ms` milliseconds, read from its CPU times (NaN when the
 * platform reports none). A run samples them right before it starts, when it keeps no core busy.
 */
export async function sampleFreeCores(ms = FREE_CORES_SAMPLE_MS): Promise<number> {
  const count = cpus().length;
  if (count === 0) return Number.NaN;
  const before = machineCpuTimes();
  await new Promise((resolve) => setTimeout(resolve, ms));
  return idleCores(before, machineCpuTimes(), count);
}

/** The most threads a run may take: the cores this process may run on. */
export function machineThreads(): number {
  return availableParallelism();
}
