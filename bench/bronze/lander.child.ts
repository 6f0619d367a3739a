/**
 * One lander run in its own process, so the bench can read its peak memory (max RSS, which
 * includes DuckDB's native allocations). Argument: a JSON object of {@link LanderChildArgs}.
 * Prints one JSON line of {@link LanderChildResult}.
 */
import { readFileSync } from 'node:fs';
import { DuckDbParquetWriter, FsObjectStore, SqliteDocumentStore } from '@mlops/adapters-local';
import { createEvent, createLogger, type AnyEvent } from '@mlops/kernel';
import { deliver } from '@mlops/testing';
import { createLanderService } from '@mlops/lander';

/** What the child is asked to do. */
export interface LanderChildArgs {
  documentsPath: string;
  lakeRoot: string;
  tempDir: string;
  collection: string;
  runDate: string;
  documentCount: number;
  rowsPerPart?: number;
  /** Parquet writer settings (defaults: the adapter's). */
  threads?: number;
  rowGroupSize?: number;
  memoryLimit?: string;
  pageSize?: number;
  /** Only load the modules and report the idle memory. */
  idle?: boolean;
}

/** What the child reports. */
export interface LanderChildResult {
  ms: number;
  rows: number;
  bytes: number;
  parts: number;
  maxRssMb: number;
  /** CPU time of the whole process (all threads, user and system) while landing, and its system part. */
  cpuMs: number;
  sysMs: number;
}

/**
 * This process's own peak RSS, MB: the kernel's high-water mark of its address space (VmHWM).
 * Not `resourceUsage().maxRSS`: Linux carries a process's max RSS across exec, and this child is
 * forked from the bench, so that figure was the bench's own RSS at the fork whenever it was larger
 * (the bench holds a DuckDB floor run and a million documents read by then: 330-374 MB "idle").
 */
function peakRssMb(): number {
  try {
    const kib = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    if (kib !== undefined) return Math.round(Number(kib) / 1024);
  } catch {
    // No /proc (not Linux): the rusage figure, which may include the parent's as above.
  }
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

const args = JSON.parse(process.argv[2] ?? '{}') as LanderChildArgs;
let result: LanderChildResult = { ms: 0, rows: 0, bytes: 0, parts: 0, maxRssMb: 0, cpuMs: 0, sysMs: 0 };
if (!args.idle) {
  const documents = new SqliteDocumentStore({ path: args.documentsPath });
  const parquet = new DuckDbParquetWriter({
    ...(args.threads ? { threads: args.threads } : {}),
    ...(args.rowGroupSize ? { rowGroupSize: args.rowGroupSize } : {}),
    ...(args.memoryLimit ? { memoryLimit: args.memoryLimit } : {}),
  });
  const lander = createLanderService({
    documents,
    objects: new FsObjectStore({ root: args.lakeRoot }),
    parquet,
    tempDir: args.tempDir,
    ...(args.rowsPerPart ? { rowsPerPart: args.rowsPerPart } : {}),
    ...(args.pageSize ? { pageSize: args.pageSize } : {}),
  });
  const event = createEvent(
    'mlops.sales.generated.v1',
    { runDate: args.runDate, collection: args.collection, documentCount: args.documentCount, dirtyCount: 0 },
    { source: '//mlops/bench', runid: 'run_bench', rundate: args.runDate },
  ) as AnyEvent;
  // The breakdown is sampled only when asked: process.memoryUsage() every 50 ms cost the landing
  // about 3% of its main thread's time (bench/bronze README, session 9).
  const peak = { rss: 0, heapUsed: 0, heapTotal: 0, external: 0, arrayBuffers: 0 };
  const sampler = process.env.LANDER_CHILD_MEMORY
    ? setInterval(() => {
        const usage = process.memoryUsage();
        for (const key of Object.keys(peak) as (keyof typeof peak)[])
          peak[key] = Math.max(peak[key], Math.round(usage[key] / 1048576));
      }, 50)
    : undefined;
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  // The lander's own log line (its read, conversion and total times) on stderr, when asked.
  const log = process.env.LANDER_CHILD_LOG
    ? createLogger({ sink: (line) => process.stderr.write(`${line}\n`) })
    : undefined;
  const published = await deliver(lander, event, log ? { log } : {});
  const ms = performance.now() - started;
  const cpu = process.cpuUsage(cpuStarted);
  clearInterval(sampler);
  if (sampler) process.stderr.write(JSON.stringify(peak) + '\n');
  const landed = published.ofType('mlops.bronze.landed.v1')[0]!;
  await parquet.close();
  await documents.close();
  result = {
    ms,
    rows: landed.data.rowCount,
    bytes: landed.data.bytes,
    parts: landed.data.objects.length,
    maxRssMb: 0,
    cpuMs: (cpu.user + cpu.system) / 1000,
    sysMs: cpu.system / 1000,
  };
}
result.maxRssMb = peakRssMb();
process.stdout.write(JSON.stringify(result) + '\n');
