/**
 * CPU per date of the per-day stages (sales-gen, click-gen, startup-gen, lander) at a scale, each
 * service in this process on its real store (SQLite documents, folder lake, DuckDB), one date after
 * another as the year runs them. Prints each stage's CPU per date (this process's CPU, all threads,
 * while the stage handles the date): the first date apart, then the median of the rest.
 *
 *   PERDAY_DAYS=10 PERDAY_SCALE=10 npx tsx --conditions=@mlops/source bench/bronze/perday.profile.ts
 *
 * Run it under `node --cpu-prof` (NODE_OPTIONS) to see where each stage's time goes.
 */
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDbParquetWriter, FsObjectStore, SqliteDocumentStore } from '@mlops/adapters-local';
import { dayNumber, isoDate } from '@mlops/synthetic';
import { createEvent, silentLogger, type AnyEvent, type Service } from '@mlops/kernel';
import { deliver } from '@mlops/testing';
import { createClickGenService } from '@mlops/click-gen';
import { createLanderService } from '@mlops/lander';
import { createSalesGenService } from '@mlops/sales-gen';
import { createStartupGenService } from '@mlops/startup-gen';

const days = Number(process.env.PERDAY_DAYS ?? 10);
const scale = Number(process.env.PERDAY_SCALE ?? 10);
const firstDate = process.env.PERDAY_FROM ?? '2026-03-01';
const only = (process.env.PERDAY_ONLY ?? 'sales-gen,lander,click-gen,startup-gen').split(',');
const generators = { seed: 42, dirtyShare: 0.01, piiHmacKey: 'bench-key-0123456789', scale };

function started(runDate: string): AnyEvent {
  return createEvent(
    'mlops.pipeline.started.v1',
    { runDate, trigger: 'cli', scale },
    { source: '//mlops/perday', runid: `run_perday_${runDate}`, rundate: runDate },
  ) as AnyEvent;
}

function cpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

const dir = await mkdtemp(join(tmpdir(), 'mlops-perday-'));
const documentsPath = join(dir, 'documents.sqlite');
const documents = new SqliteDocumentStore({ path: documentsPath });
const objects = new FsObjectStore({ root: join(dir, 'lake') });
const parquet = new DuckDbParquetWriter();
const services: Record<string, Service> = {
  'sales-gen': createSalesGenService({ documents, collection: 'sales', generators }),
  'click-gen': createClickGenService({ objects, generators }),
  'startup-gen': createStartupGenService({ objects, generators }),
  lander: createLanderService({ documents, objects, parquet, tempDir: dir }),
};
/**
 * PERDAY_OVERLAP=1: as the year's threads do, two sales-gen connections take turns by date while a
 * third connection lands the previous date at the same time; prints the CPU per date of sales-gen
 * and the lander together and the WAL's largest size.
 */
async function overlapped(): Promise<void> {
  const stores = [0, 1, 2].map(() => new SqliteDocumentStore({ path: documentsPath }));
  const sales = stores
    .slice(0, 2)
    .map((store) => createSalesGenService({ documents: store, collection: 'sales', generators }));
  const lander = createLanderService({ documents: stores[2]!, objects, parquet, tempDir: dir });
  let landing: AnyEvent | undefined;
  let walMax = 0;
  const perDate: number[] = [];
  for (let index = 0; index <= days; index += 1) {
    const before = cpuMs();
    const work: Promise<unknown>[] = [];
    let generated: Promise<AnyEvent | undefined> = Promise.resolve(undefined);
    if (index < days) {
      const runDate = isoDate(dayNumber(firstDate) + index);
      generated = deliver(sales[index % 2]!, started(runDate), { log: silentLogger }).then(
        (published) => published.events[0] as AnyEvent,
      );
      work.push(generated);
    }
    if (landing) work.push(deliver(lander, landing, { log: silentLogger }));
    await Promise.all(work);
    landing = await generated;
    if (index > 0) perDate.push(cpuMs() - before);
    if (existsSync(`${documentsPath}-wal`)) walMax = Math.max(walMax, statSync(`${documentsPath}-wal`).size);
  }
  for (const store of stores) await store.close();
  const median = [...perDate].sort((a, b) => a - b)[Math.floor(perDate.length / 2)]!;
  const tenth = Math.max(1, Math.floor(perDate.length / 10));
  const med = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  console.log(
    `# overlapped sales-gen x2 + lander, scale ${scale}, ${days} dates (load ${load.toFixed(1)}): CPU per date median ${median.toFixed(0)} ms (first tenth ${med(perDate.slice(0, tenth)).toFixed(0)}, last tenth ${med(perDate.slice(-tenth)).toFixed(0)}), largest WAL ${(walMax / 1e6).toFixed(1)} MB`,
  );
}

const cpu: Record<string, number[]> = {};
const rows: Record<string, number[]> = {};
const load = loadavg()[0]!;
async function sequential(): Promise<void> {
  for (let index = 0; index < days; index += 1) {
    const runDate = isoDate(dayNumber(firstDate) + index);
    let next: AnyEvent[] = [started(runDate)];
    for (const name of ['sales-gen', 'lander', 'click-gen', 'startup-gen']) {
      if (!only.includes(name)) continue;
      const service = services[name]!;
      const event = name === 'lander' ? next.find((e) => e.type === 'mlops.sales.generated.v1') : started(runDate);
      if (!event) continue;
      const before = cpuMs();
      const published = await deliver(service, event, { log: silentLogger });
      (cpu[name] ??= []).push(cpuMs() - before);
      const out = published.events[0] as AnyEvent & { data: { documentCount?: number; rowCount?: number } };
      (rows[name] ??= []).push(out.data.documentCount ?? out.data.rowCount ?? 0);
      if (name === 'sales-gen') next = published.events as AnyEvent[];
    }
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
  console.log(`# CPU per date, scale ${scale}, ${days} dates from ${firstDate} (load ${load.toFixed(1)} at start)`);
  let total = 0;
  for (const name of Object.keys(cpu)) {
    const rest = cpu[name]!.slice(1);
    const tenth = Math.max(1, Math.floor(rest.length / 10));
    total += median(rest);
    console.log(
      `${name.padEnd(12)} first ${cpu[name]![0]!.toFixed(0).padStart(6)} ms, then median ${median(rest).toFixed(0).padStart(5)} ms (min ${Math.min(...rest).toFixed(0)}, max ${Math.max(...rest).toFixed(0)}; first tenth ${median(rest.slice(0, tenth)).toFixed(0)}, last tenth ${median(rest.slice(-tenth)).toFixed(0)}), ${median(rows[name]!)} rows`,
    );
  }
  console.log(`total        median ${total.toFixed(0)} ms CPU per date`);
}

try {
  await (process.env.PERDAY_OVERLAP === '1' ? overlapped() : sequential());
  if (existsSync(`${documentsPath}-wal`))
    console.log(`documents WAL ${(statSync(`${documentsPath}-wal`).size / 1e6).toFixed(1)} MB at the end`);
} finally {
  await documents.close();
  await parquet.close?.();
  await rm(dir, { recursive: true, force: true });
}
