/**
 * Bronze benchmark: rows/s of each generator (pure, and as a service writing to its store), the
 * lander on 1,000,000 orders read from the SQLite document store beside DuckDB's own NDJSON to
 * Parquet conversion of the same rows (the floor), the lander's peak memory (max RSS of a child
 * process), and the lander's time for one day with 1 and with 365 days of history in the store.
 *
 *   flock /tmp/bench.lock npx tsx --conditions=@mlops/source bench/bronze/bronze.bench.ts
 *
 * BENCH_LANDER_ROWS and BENCH_HISTORY_DAYS shrink the run for a quick look. BENCH_ONLY=lander
 * measures only the big day (floor, store reads, lander). BENCH_DIR keeps the scratch folder and
 * reuses the big day's store and NDJSON from an earlier run with the same number of rows.
 */
import { DuckDBInstance } from '@duckdb/node-api';
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDbParquetWriter, FsObjectStore, SqliteDocumentStore } from '@mlops/adapters-local';
import {
  SALES_BRONZE_COLUMNS,
  dayNumber,
  generateClickEvents,
  generateSalesOrders,
  generateStartupCompanies,
  isoDate,
} from '@mlops/synthetic';
import { createEvent, silentLogger, type AnyEvent, type StoredDocument } from '@mlops/kernel';
import { deliver } from '@mlops/testing';
import { createClickGenService } from '@mlops/click-gen';
import { createLanderService } from '@mlops/lander';
import { MAX_BATCH as SALES_GEN_BATCH, createSalesGenService } from '@mlops/sales-gen';
import { createStartupGenService } from '@mlops/startup-gen';
import type { LanderChildArgs, LanderChildResult } from './lander.child.js';

/** Options of {@link runBronzeBench}. */
export interface BronzeBenchOptions {
  /** Orders the lander lands in one day (default 1,000,000). */
  landerRows?: number;
  /** Days of history for the flat-cost check (default 365). */
  historyDays?: number;
  /** Scratch folder (default a fresh folder under the OS temp folder, removed afterwards). */
  dir?: string;
  /** Where the report goes (default stdout). */
  print?: (line: string) => void;
  /** Measure only the big day: the floor, the store reads and the lander (default false). */
  onlyLander?: boolean;
}

/** One measured row of the report. */
export interface BenchLine {
  name: string;
  rows: number;
  ms: number;
  rowsPerSecond: number;
  note?: string;
}

/** Everything the bench measured. */
export interface BronzeBenchResult {
  generators: BenchLine[];
  services: BenchLine[];
  floor: BenchLine;
  duckDbDefaults: BenchLine;
  /** The floor's conversion on one DuckDB thread, as the lander converts each part. */
  floorOneThread: BenchLine & { cpuMs: number };
  storeRead: BenchLine;
  storeReadJson: BenchLine;
  lander: (BenchLine & { maxRssMb: number; bytes: number; parts: number; rowsPerPart: number; cpuMs: number })[];
  /** CPU time (all threads) of the best floor run, of the lander's best run, of the store read alone. */
  cpu: { floorMs: number; floorOneThreadMs: number; landerMs: number; storeReadMs: number };
  idleChildRssMb: number;
  floorBytes: number;
  ratio: number;
  peakRssMb: number;
  /**
   * One day landed with 1 and with `historyDays + 1` days in the store (medians of 9 handlings, wall
   * and CPU of all threads), then again on a reopened store (statistics refreshed on open).
   */
  flat: {
    oneDayMs: number;
    oneDayCpuMs: number;
    historyMs: number;
    historyCpuMs: number;
    reopenedMs: number;
    reopenedCpuMs: number;
    historyDays: number;
    rowsPerDay: number;
  };
  /** One date at scale 1 through the lander service: its first handling (a new writer) and the median of the next. */
  perDate: { rows: number; firstMs: number; firstCpuMs: number; warmMs: number; warmCpuMs: number };
  targets: { nearFloor: boolean; under400Mb: boolean; flat: boolean };
}

const settings = { seed: 42, dirtyShare: 0.01, piiHmacKey: 'bench-key-0123456789' };
const DATE = '2026-03-03';
/** Lander rows/s as a share of the DuckDB floor (issue #15). */
export const LANDER_FLOOR_TARGET = 0.8;
const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');

function line(name: string, rows: number, ms: number, note?: string): BenchLine {
  return { name, rows, ms, rowsPerSecond: rows / (ms / 1000), ...(note ? { note } : {}) };
}

function start(runDate: string, scale: number): AnyEvent {
  return createEvent(
    'mlops.pipeline.started.v1',
    { runDate, trigger: 'cli', scale },
    { source: '//mlops/bench', runid: `run_bench_${runDate}`, rundate: runDate },
  ) as AnyEvent;
}

function salesGenerated(runDate: string, collection: string, documentCount: number): AnyEvent {
  return createEvent(
    'mlops.sales.generated.v1',
    { runDate, collection, documentCount, dirtyCount: 0 },
    { source: '//mlops/bench', runid: `run_bench_${runDate}`, rundate: runDate },
  ) as AnyEvent;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function time<T>(work: () => T): { value: T; ms: number } {
  const started = performance.now();
  const value = work();
  return { value, ms: performance.now() - started };
}

async function runChild(args: LanderChildArgs): Promise<LanderChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--conditions=@mlops/source', '--import', 'tsx', join(here, 'lander.child.ts'), JSON.stringify(args)],
      {
        cwd: root,
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`lander child exited with ${code}`));
      else resolve(JSON.parse(out.trim().split('\n').at(-1)!) as LanderChildResult);
    });
  });
}

/** Load `rows` orders of one day into a SQLite store, writing the same rows as NDJSON for the floor. */
async function loadBigDay(
  documentsPath: string,
  ndjsonPath: string,
  rows: number,
): Promise<{ generateMs: number; storeMs: number }> {
  const store = new SqliteDocumentStore({ path: documentsPath });
  const out = createWriteStream(ndjsonPath);
  let generateMs = 0;
  let storeMs = 0;
  let batch: StoredDocument[] = [];
  let text = '';
  let written = 0;
  const flush = async () => {
    const t = performance.now();
    await store.upsertBatch('sales', batch);
    storeMs += performance.now() - t;
    batch = [];
    if (!out.write(text)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
    text = '';
  };
  // Scale 1000 is about a million orders a day; take exactly `rows` of them.
  // (The generator itself takes any scale; services stop at 1000.)
  const iterator = generateSalesOrders({ ...settings, scale: Math.max(1, (rows / 900) * 1.15), date: DATE })[
    Symbol.iterator
  ]();
  while (written < rows) {
    const t = performance.now();
    const next = iterator.next();
    generateMs += performance.now() - t;
    if (next.done) break;
    batch.push({ id: next.value.id, data: next.value.data });
    text += JSON.stringify({ ...next.value.data, _document_id: next.value.id, _extra_json: null }) + '\n';
    written += 1;
    // Batches as sales-gen writes them: the day's pages then lie as the lander finds them in the year.
    if (batch.length >= SALES_GEN_BATCH) await flush();
  }
  if (batch.length > 0) await flush();
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
  // Build the run_date index now, as a store in service would have it already.
  await store.count('sales', { where: [{ field: 'run_date', op: '==', value: DATE }] });
  await store.close();
  if (written !== rows) throw new Error(`generated ${written} orders, wanted ${rows}`);
  return { generateMs, storeMs };
}

/**
 * DuckDB alone converting the NDJSON file to Parquet with the lander's column types, on all cores
 * (DuckDB's default) or on `threads`. `sameFile` writes the same Parquet as the lander (zstd, its
 * row-group size); otherwise DuckDB's own defaults (snappy, 122,880 rows per group).
 */
async function floor(
  ndjsonPath: string,
  parquetPath: string,
  sameFile: boolean,
  threads?: number,
): Promise<{ ms: number; cpuMs: number }> {
  const instance = await DuckDBInstance.create(':memory:', threads ? { threads: String(threads) } : {});
  const connection = await instance.connect();
  const columns = SALES_BRONZE_COLUMNS.map((column) => `'${column.name}': '${column.type}'`).join(', ');
  const options = sameFile
    ? `(format parquet, compression zstd, row_group_size ${DuckDbParquetWriter.defaultRowGroupSize})`
    : '(format parquet)';
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  await connection.run(
    `copy (select * from read_json('${ndjsonPath}', format = 'newline_delimited', columns = {${columns}})) to '${parquetPath}' ${options}`,
  );
  const ms = performance.now() - started;
  const cpu = process.cpuUsage(cpuStarted);
  connection.closeSync();
  instance.closeSync();
  return { ms, cpuMs: (cpu.user + cpu.system) / 1000 };
}

/** Run the bronze benchmark and print its report. */
export async function runBronzeBench(options: BronzeBenchOptions = {}): Promise<BronzeBenchResult> {
  const print = options.print ?? ((text: string) => process.stdout.write(text + '\n'));
  const landerRows = options.landerRows ?? 1_000_000;
  const historyDays = options.historyDays ?? 365;
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'mlops-bench-bronze-')));
  await mkdir(dir, { recursive: true });
  try {
    print(`# bronze bench (${landerRows.toLocaleString('en')} lander rows, ${historyDays} days of history)`);

    // 1. Generators alone, at scale 10.
    const generators: BenchLine[] = [];
    for (const [name, make] of [
      ['sales orders', () => generateSalesOrders({ ...settings, scale: 10, date: DATE })],
      ['click events', () => generateClickEvents({ ...settings, scale: 10, date: DATE })],
      [
        'startups (full load)',
        () => generateStartupCompanies({ ...settings, scale: 10, date: DATE, loadType: 'full' }),
      ],
    ] as const) {
      if (options.onlyLander) break;
      const { value: rows, ms } = time(() => {
        let n = 0;
        for (const _record of make()) n += 1;
        return n;
      });
      generators.push(line(`generate ${name}, scale 10`, rows, ms));
    }

    // 2. The services writing to their stores, at scale 10.
    const services: BenchLine[] = [];
    if (!options.onlyLander) {
      const documents = new SqliteDocumentStore({ path: join(dir, 'services.sqlite') });
      const objects = new FsObjectStore({ root: join(dir, 'services-lake') });
      const generatorsSettings = { ...settings, scale: 10 };
      for (const [name, service] of [
        [
          'sales-gen to SQLite documents',
          createSalesGenService({ documents, collection: 'sales', generators: generatorsSettings }),
        ],
        ['click-gen to the folder lake', createClickGenService({ objects, generators: generatorsSettings })],
        [
          'startup-gen full load to the folder lake',
          createStartupGenService({ objects, generators: generatorsSettings }),
        ],
      ] as const) {
        const started = performance.now();
        const published = await deliver(service, start(DATE, 10), { log: silentLogger });
        const ms = performance.now() - started;
        const event = published.events[0]!;
        const rows =
          event.type === 'mlops.sales.generated.v1'
            ? event.data.documentCount
            : event.type === 'mlops.bronze.landed.v1'
              ? event.data.rowCount
              : 0;
        services.push(line(`${name}, scale 10`, rows, ms));
      }
      await documents.close();
    }

    // 3. The lander on a big day, beside DuckDB's own conversion of the same rows.
    const documentsPath = join(dir, 'big.sqlite');
    const ndjsonPath = join(dir, 'big.ndjson');
    // A kept folder (options.dir) holds the big day of an earlier run: reuse it when the size matches.
    const loadedMarker = join(dir, 'big.rows');
    const reuse =
      options.dir !== undefined && (await readFile(loadedMarker, 'utf8').catch(() => '')) === String(landerRows);
    if (reuse) print(`reusing the ${landerRows.toLocaleString('en')} orders loaded in ${dir}`);
    else {
      await rm(loadedMarker, { force: true });
      await rm(documentsPath, { force: true });
      const loaded = await loadBigDay(documentsPath, ndjsonPath, landerRows);
      if (options.dir !== undefined) await writeFile(loadedMarker, String(landerRows));
      generators.push(line('generate sales orders, scale 1000 (streamed)', landerRows, loaded.generateMs));
      print(
        `loaded ${landerRows.toLocaleString('en')} orders into SQLite in ${(loaded.storeMs / 1000).toFixed(1)} s (setup, not measured)`,
      );
    }
    const floorRuns = [
      await floor(ndjsonPath, join(dir, 'floor-1.parquet'), true),
      await floor(ndjsonPath, join(dir, 'floor-2.parquet'), true),
    ];
    const bestFloor = floorRuns.reduce((a, b) => (b.ms < a.ms ? b : a));
    const floorLine = line(
      'floor: DuckDB read_json(NDJSON) -> the same Parquet',
      landerRows,
      bestFloor.ms,
      `best of ${floorRuns.length}`,
    );
    const floorBytes = (await stat(join(dir, 'floor-1.parquet'))).size;
    const defaultsLine = line(
      'DuckDB read_json(NDJSON) -> Parquet, DuckDB defaults (snappy, 122,880 rows/group)',
      landerRows,
      (await floor(ndjsonPath, join(dir, 'floor-3.parquet'), false)).ms,
    );
    const defaultsBytes = (await stat(join(dir, 'floor-3.parquet'))).size;
    // The lander converts each part on one DuckDB thread: its CPU beyond this is the store read and
    // the staging (bench/bronze README).
    const oneThread = await floor(ndjsonPath, join(dir, 'floor-4.parquet'), true, 1);
    const oneThreadLine = line(
      'DuckDB read_json(NDJSON) -> the same Parquet, one thread (as each lander part)',
      landerRows,
      oneThread.ms,
    );
    if (options.dir === undefined) await rm(ndjsonPath, { force: true });

    // What the store alone costs the lander: query that date and parse every document.
    const readStore = new SqliteDocumentStore({ path: documentsPath });
    const readStarted = performance.now();
    let read = 0;
    for await (const _document of readStore.query('sales', {
      where: [{ field: 'run_date', op: '==', value: DATE }],
      pageSize: 1000,
    }))
      read += 1;
    const readLine = line('SQLite document store alone: query the date + parse', read, performance.now() - readStarted);
    // What the lander reads now: the stored JSON text, never parsed in JavaScript.
    const readJsonStarted = performance.now();
    const readJsonCpu = process.cpuUsage();
    let readJson = 0;
    for await (const page of readStore.queryJson('sales', {
      where: [{ field: 'run_date', op: '==', value: DATE }],
      pageSize: 1000,
    }))
      readJson += page.length;
    const readJsonLine = line(
      "SQLite document store alone: query the date as JSON text (the lander's ceiling)",
      readJson,
      performance.now() - readJsonStarted,
    );
    const readJsonCpuUsage = process.cpuUsage(readJsonCpu);
    const readJsonCpuMs = (readJsonCpuUsage.user + readJsonCpuUsage.system) / 1000;
    await readStore.close();

    const idle = await runChild({
      documentsPath,
      lakeRoot: join(dir, 'lake'),
      tempDir: dir,
      collection: 'sales',
      runDate: DATE,
      documentCount: landerRows,
      idle: true,
    });
    const lander: BronzeBenchResult['lander'] = [];
    for (const [rowsPerPart, runs] of [
      [100_000, 2],
      [1_000_000, 1],
    ] as const) {
      const results: LanderChildResult[] = [];
      for (let run = 0; run < runs; run += 1) {
        results.push(
          await runChild({
            documentsPath,
            lakeRoot: join(dir, 'lake'),
            tempDir: dir,
            collection: 'sales',
            runDate: DATE,
            documentCount: landerRows,
            rowsPerPart,
          }),
        );
      }
      const best = results.reduce((a, b) => (b.ms < a.ms ? b : a));
      print(
        `lander, ${rowsPerPart.toLocaleString('en')} rows/part: ${results.map((r) => `${(r.ms / 1000).toFixed(2)} s (CPU ${(r.cpuMs / 1000).toFixed(2)} s, of which system ${(r.sysMs / 1000).toFixed(2)} s)`).join(', ')}`,
      );
      lander.push({
        ...line(
          `lander (${rowsPerPart.toLocaleString('en')} rows/part), SQLite JSON text -> Parquet`,
          best.rows,
          best.ms,
        ),
        maxRssMb: Math.max(...results.map((r) => r.maxRssMb)),
        bytes: best.bytes,
        parts: best.parts,
        rowsPerPart,
        cpuMs: best.cpuMs,
      });
    }

    // 4. Cost of one day as history grows.
    let flat: BronzeBenchResult['flat'] = {
      oneDayMs: 0,
      oneDayCpuMs: 0,
      historyMs: 0,
      historyCpuMs: 0,
      reopenedMs: 0,
      reopenedCpuMs: 0,
      historyDays: 0,
      rowsPerDay: 0,
    };
    let perDate: BronzeBenchResult['perDate'] = { rows: 0, firstMs: 0, firstCpuMs: 0, warmMs: 0, warmCpuMs: 0 };
    if (!options.onlyLander) {
      const flatPath = join(dir, 'history.sqlite');
      let flatStore = new SqliteDocumentStore({ path: flatPath });
      const flatLake = new FsObjectStore({ root: join(dir, 'flat-lake') });
      const flatWriter = new DuckDbParquetWriter();
      const lander = () =>
        createLanderService({
          documents: flatStore,
          objects: flatLake,
          parquet: flatWriter,
          tempDir: dir,
        });
      let flatLander = lander();
      const loadDay = async (date: string) => {
        const documents = [...generateSalesOrders({ ...settings, scale: 1, date })].map((record) => ({
          id: record.id,
          data: record.data,
        }));
        for (let i = 0; i < documents.length; i += 5000)
          await flatStore.upsertBatch('sales', documents.slice(i, i + 5000));
        return documents.length;
      };
      // Each delivery's wall and CPU time (all threads, so DuckDB's too); the first of a new writer is cold.
      const landRuns = async (count: number, runs: number) => {
        const times: { ms: number; cpuMs: number }[] = [];
        for (let run = 0; run < runs; run += 1) {
          const started = performance.now();
          const cpuStarted = process.cpuUsage();
          await deliver(flatLander, salesGenerated(DATE, 'sales', count), { log: silentLogger });
          const cpu = process.cpuUsage(cpuStarted);
          times.push({ ms: performance.now() - started, cpuMs: (cpu.user + cpu.system) / 1000 });
        }
        return times;
      };
      const landOnce = async (count: number) => {
        const runs = await landRuns(count, 9);
        return { ms: median(runs.map((run) => run.ms)), cpuMs: median(runs.map((run) => run.cpuMs)) };
      };
      const rowsPerDay = await loadDay(DATE);
      const [first, ...warm] = await landRuns(rowsPerDay, 11);
      perDate = {
        rows: rowsPerDay,
        firstMs: first!.ms,
        firstCpuMs: first!.cpuMs,
        warmMs: median(warm.map((run) => run.ms)),
        warmCpuMs: median(warm.map((run) => run.cpuMs)),
      };
      const oneDay = await landOnce(rowsPerDay);
      const day = dayNumber(DATE);
      for (let back = 1; back <= historyDays; back += 1) await loadDay(isoDate(day - back));
      const history = await landOnce(rowsPerDay);
      // A new process's store: statistics refreshed on open (the writer kept them up to date anyway).
      await flatStore.close();
      flatStore = new SqliteDocumentStore({ path: flatPath });
      flatLander = lander();
      const reopened = await landOnce(rowsPerDay);
      await flatWriter.close();
      await flatStore.close();
      flat = {
        oneDayMs: oneDay.ms,
        oneDayCpuMs: oneDay.cpuMs,
        historyMs: history.ms,
        historyCpuMs: history.cpuMs,
        reopenedMs: reopened.ms,
        reopenedCpuMs: reopened.cpuMs,
        historyDays,
        rowsPerDay,
      };
    }

    // Report.
    const best = lander[0]!;
    const ratio = best.rowsPerSecond / floorLine.rowsPerSecond;
    const peakRssMb = best.maxRssMb;
    const result: BronzeBenchResult = {
      generators,
      services,
      floor: floorLine,
      duckDbDefaults: defaultsLine,
      floorOneThread: { ...oneThreadLine, cpuMs: oneThread.cpuMs },
      storeRead: readLine,
      storeReadJson: readJsonLine,
      lander,
      idleChildRssMb: idle.maxRssMb,
      floorBytes,
      ratio,
      peakRssMb,
      flat,
      perDate,
      cpu: {
        floorMs: bestFloor.cpuMs,
        floorOneThreadMs: oneThread.cpuMs,
        landerMs: best.cpuMs,
        storeReadMs: readJsonCpuMs,
      },
      targets: {
        nearFloor: ratio >= LANDER_FLOOR_TARGET,
        under400Mb: peakRssMb < 400,
        // CPU: the wall time of a 20 ms handling follows the machine's load more than the history.
        flat: flat.historyCpuMs < flat.oneDayCpuMs * 1.5 + 5,
      },
    };
    const fmt = (n: number) => Math.round(n).toLocaleString('en');
    print('');
    print('| measurement | rows | time | rows/s | vs floor | max RSS | Parquet |');
    print('|---|---:|---:|---:|---:|---:|---:|');
    for (const item of [...generators, ...services])
      print(
        `| ${item.name} | ${fmt(item.rows)} | ${(item.ms / 1000).toFixed(2)} s | ${fmt(item.rowsPerSecond)} | | | |`,
      );
    print(
      `| ${floorLine.name} | ${fmt(floorLine.rows)} | ${(floorLine.ms / 1000).toFixed(2)} s | ${fmt(floorLine.rowsPerSecond)} | 1.00 | | ${(floorBytes / 1e6).toFixed(1)} MB |`,
    );
    print(
      `| ${defaultsLine.name} | ${fmt(defaultsLine.rows)} | ${(defaultsLine.ms / 1000).toFixed(2)} s | ${fmt(defaultsLine.rowsPerSecond)} | ${(defaultsLine.rowsPerSecond / floorLine.rowsPerSecond).toFixed(2)} | | ${(defaultsBytes / 1e6).toFixed(1)} MB |`,
    );
    print(
      `| ${oneThreadLine.name} | ${fmt(oneThreadLine.rows)} | ${(oneThreadLine.ms / 1000).toFixed(2)} s | ${fmt(oneThreadLine.rowsPerSecond)} | ${(oneThreadLine.rowsPerSecond / floorLine.rowsPerSecond).toFixed(2)} | | |`,
    );
    for (const item of [readLine, readJsonLine]) {
      print(
        `| ${item.name} | ${fmt(item.rows)} | ${(item.ms / 1000).toFixed(2)} s | ${fmt(item.rowsPerSecond)} | ${(item.rowsPerSecond / floorLine.rowsPerSecond).toFixed(2)} | | |`,
      );
    }
    for (const item of lander) {
      print(
        `| ${item.name} | ${fmt(item.rows)} | ${(item.ms / 1000).toFixed(2)} s | ${fmt(item.rowsPerSecond)} | ${(item.rowsPerSecond / floorLine.rowsPerSecond).toFixed(2)} | ${item.maxRssMb} MB | ${(item.bytes / 1e6).toFixed(1)} MB in ${item.parts} part(s) |`,
      );
    }
    print(`| lander child process idle (modules loaded) | | | | | ${idle.maxRssMb} MB | |`);
    print('');
    print(
      `lander / floor = ${ratio.toFixed(2)} (target >= ${LANDER_FLOOR_TARGET.toFixed(2)}: ${result.targets.nearFloor ? 'met' : 'MISSED'}); store read as JSON text alone / floor = ${(readJsonLine.rowsPerSecond / floorLine.rowsPerSecond).toFixed(2)}`,
    );
    print(
      `CPU (all threads): floor ${(bestFloor.cpuMs / 1000).toFixed(2)} s, lander ${(best.cpuMs / 1000).toFixed(2)} s (floor / lander = ${(bestFloor.cpuMs / best.cpuMs).toFixed(2)}), of which the store read alone ${(readJsonCpuMs / 1000).toFixed(2)} s; load average ${loadavg()[0]!.toFixed(1)} at the end`,
    );
    print(
      `CPU beyond DuckDB's own one-thread conversion (${(oneThread.cpuMs / 1000).toFixed(2)} s): the lander's ${((best.cpuMs - oneThread.cpuMs) / 1000).toFixed(2)} s (store read, plain-document check, staging); reaching ${LANDER_FLOOR_TARGET.toFixed(2)} of the floor on ${availableParallelism()} cores needs the lander's CPU under ${((availableParallelism() * bestFloor.ms) / LANDER_FLOOR_TARGET / 1000).toFixed(2)} s even with every core busy throughout`,
    );
    print(
      `lander peak RSS ${peakRssMb} MB (target < 400 MB: ${result.targets.under400Mb ? 'met' : 'MISSED'}), of which ${idle.maxRssMb} MB is the process with its modules loaded and idle`,
    );
    if (!options.onlyLander) {
      print(
        `lander per date at scale 1 (${fmt(perDate.rows)} orders): first handling of a new writer ${perDate.firstMs.toFixed(0)} ms (CPU ${perDate.firstCpuMs.toFixed(0)} ms), then ${perDate.warmMs.toFixed(0)} ms (CPU ${perDate.warmCpuMs.toFixed(0)} ms), median of 10`,
      );
      print(
        `lander, one day of ${fmt(flat.rowsPerDay)} orders, CPU (wall): ${flat.oneDayCpuMs.toFixed(1)} ms (${flat.oneDayMs.toFixed(0)} ms) with 1 day in the store, ${flat.historyCpuMs.toFixed(1)} ms (${flat.historyMs.toFixed(0)} ms) with ${flat.historyDays + 1} days (x${(flat.historyCpuMs / flat.oneDayCpuMs).toFixed(2)} CPU: ${result.targets.flat ? 'flat' : 'GROWS'})`,
      );
      print(
        `  the same on the store reopened (statistics refreshed on open): ${flat.reopenedCpuMs.toFixed(1)} ms (${flat.reopenedMs.toFixed(0)} ms), x${(flat.reopenedCpuMs / flat.oneDayCpuMs).toFixed(2)} CPU`,
      );
    }
    return result;
  } finally {
    if (!options.dir) await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const numberFrom = (value: string | undefined) => (value === undefined ? undefined : Number(value));
  const landerRows = numberFrom(process.env.BENCH_LANDER_ROWS);
  const historyDays = numberFrom(process.env.BENCH_HISTORY_DAYS);
  await runBronzeBench({
    ...(landerRows ? { landerRows } : {}),
    ...(historyDays !== undefined ? { historyDays } : {}),
    ...(process.env.BENCH_DIR ? { dir: process.env.BENCH_DIR } : {}),
    onlyLander: process.env.BENCH_ONLY === 'lander',
  });
}
