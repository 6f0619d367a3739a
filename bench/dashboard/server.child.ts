/**
 * The dashboard server of the benchmark, in a process of its own (so the load generator does not
 * share its event loop): `tsx --conditions=@mlops/source server.child.ts <workDir> <cacheEntries>`.
 * Prints one JSON line with its URL, pid, the table sizes, the warm-up's wall and CPU time and the
 * RSS after it, then serves until SIGTERM. A line `rewarm` on stdin makes one write session (a new
 * warehouse version, as after a transform's `warehouse.ready`) and warms up again, answering one
 * JSON line with that warm-up's times. A line `stats` answers one JSON line with the garbage
 * collections (epoch start, duration, kind) and the event loop's delay percentiles since the
 * previous `stats`, and starts counting again.
 */
import { join } from 'node:path';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { ModelRegistry, RunLedger, silentLogger } from '@mlops/kernel';
import { SqliteDocumentStore, SqliteEventBus, openDuckDbWarehouseAccess } from '@mlops/adapters-local';
import { createDashboardServer } from '@mlops/dashboard';

const [workDir, cacheEntries] = process.argv.slice(2);
if (!workDir) throw new Error('usage: server.child.ts <workDir> <cacheEntries>');
const path = join(workDir, 'warehouse.duckdb');
const warehouse = openDuckDbWarehouseAccess({ path });
const documents = new SqliteDocumentStore({ path: join(workDir, 'documents.sqlite') });
const bus = new SqliteEventBus({ path: join(workDir, 'bus.sqlite') });
const ledger = new RunLedger(documents);
const server = await createDashboardServer({
  warehouse,
  ledger,
  registry: new ModelRegistry(documents),
  bus,
  log: silentLogger,
  cacheEntries: Number(cacheEntries ?? 500),
});
const rows: Record<string, number> = {};
for (const table of ['fct_sales', 'dim_customer', 'fct_sessions', 'dim_startup', 'fact_predictions_churn']) {
  rows[table] = Number(
    (
      await warehouse.read((session) =>
        session.query<{ n: number }>(`select count(*) as n from warehouse.warehouse.${table}`),
      )
    )[0]!.n,
  );
}
rows.ledger_entries = (await ledger.entries()).length;

/** One warm-up, wall and CPU time (this process; DuckDB's threads included). */
async function timedWarm(): Promise<{ warmed: boolean; wallMs: number; cpuMs: number }> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const warmed = await server.warm();
  const used = process.cpuUsage(cpu);
  return {
    warmed,
    wallMs: Math.round(performance.now() - started),
    cpuMs: Math.round((used.user + used.system) / 1000),
  };
}

// As `mlops dashboard` does at start: the page's first requests, the cubes and the in-memory
// indexes are computed before anyone connects (timed, and reported by the bench).
const warm = await timedWarm();
const address = await server.listen({ host: '127.0.0.1', port: 0, allowRemote: false });
process.stdout.write(
  `${JSON.stringify({
    url: address.url,
    pid: process.pid,
    rows,
    warmUpMs: warm.wallMs,
    warmUpCpuMs: warm.cpuMs,
    rssMb: Math.round(process.memoryUsage().rss / 1e6),
  })}\n`,
);
// Pauses of the event loop: every garbage collection, and the loop's delay (10 ms timer resolution).
const gcKinds: Record<number, string> = { 1: 'scavenge', 4: 'mark-compact', 8: 'incremental', 16: 'weak' };
let collections: { at: number; ms: number; kind: string }[] = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const kind = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ?? 0;
    collections.push({
      at: performance.timeOrigin + entry.startTime,
      ms: entry.duration,
      kind: gcKinds[kind] ?? String(kind),
    });
  }
}).observe({ entryTypes: ['gc'] });
const delay = monitorEventLoopDelay({ resolution: 10 });
delay.enable();
// Each stall of the loop of 20 ms or more (epoch ms when it ended, its length), to line up with requests.
let stalls: { at: number; ms: number }[] = [];
let tick = performance.now();
setInterval(() => {
  const now = performance.now();
  if (now - tick >= 25) stalls.push({ at: performance.timeOrigin + now, ms: now - tick - 5 });
  tick = now;
}, 5).unref();
const stats = () => {
  const answer = {
    gc: collections,
    stalls,
    loopDelayMs: {
      p50: delay.percentile(50) / 1e6,
      p99: delay.percentile(99) / 1e6,
      p999: delay.percentile(99.9) / 1e6,
      max: delay.max / 1e6,
    },
    heapUsedMb: Math.round(process.memoryUsage().heapUsed / 1e6),
    rssMb: Math.round(process.memoryUsage().rss / 1e6),
  };
  collections = [];
  stalls = [];
  delay.reset();
  return answer;
};

createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() === 'stats') {
    process.stdout.write(`${JSON.stringify({ stats: stats() })}\n`);
    return;
  }
  if (line.trim() !== 'rewarm') return;
  void (async () => {
    // What a transform's write session leaves behind for readers: a new version of the file.
    await warehouse.write((session) => session.execute('checkpoint'));
    const again = await timedWarm();
    process.stdout.write(
      `${JSON.stringify({ rewarmMs: again.wallMs, rewarmCpuMs: again.cpuMs, warmed: again.warmed, rssMb: Math.round(process.memoryUsage().rss / 1e6) })}\n`,
    );
  })();
});
process.once('SIGTERM', () => {
  void (async () => {
    await server.close();
    await warehouse.close();
    await bus.close();
    await documents.close();
    process.exit(0);
  })();
});
