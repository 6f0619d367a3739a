/**
 * The document store's writes of the real sales generator's orders over many dates, one process,
 * as sales-gen writes them (one `upsertBatch` of up to 20,000 a day, then its day count), to see
 * where the write time goes as the history grows (bench/start README, "Session 11 (h78)"): the
 * write transaction, the WAL it leaves (bytes and frames), the checkpoints that empty it, the
 * statistics refresh, and the generator itself. Prints one JSON line per quarter of the dates (and
 * with `--every N`, one per N dates).
 *
 * `npx tsx --conditions=@mlops/source bench/start/store-writes.profile.ts [--days 365] [--scale 10]
 * [--until 2026-12-06] [--every 0] [--dir DIR]`
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteDocumentStore } from '@mlops/adapters-local';
import { dayNumber, generateSalesOrders, isoDate } from '@mlops/synthetic';
import type { StoredDocument } from '@mlops/kernel';
import { MAX_BATCH } from '@mlops/sales-gen';

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1]! : fallback;
}

const days = Number(option('days', '365'));
const scale = Number(option('scale', '10'));
const until = option('until', '2026-12-06');
const every = Number(option('every', '0'));
const settings = { seed: 42, dirtyShare: 0.01, piiHmacKey: 'bench-key-0123456789' };
const COLLECTION = 'sales_orders';

/** Per-date figures, ms unless named otherwise. */
interface DayFigures {
  generate: number;
  transaction: number;
  checkpoint: number;
  optimize: number;
  release: number;
  upsert: number;
  count: number;
  cpu: number;
  systemCpu: number;
  walMb: number;
  /** Bytes the write transactions wrote and read through system calls (WAL, and the automatic checkpoint). */
  writeMb: number;
  readMb: number;
  documents: number;
}

function fileMb(path: string): number {
  try {
    return statSync(path).size / 2 ** 20;
  } catch {
    return 0;
  }
}

/** This process's bytes through read and write system calls so far. */
function io(): { rchar: number; wchar: number } {
  const text = readFileSync('/proc/self/io', 'utf8');
  return {
    rchar: Number(/rchar: (\d+)/.exec(text)?.[1] ?? 0),
    wchar: Number(/wchar: (\d+)/.exec(text)?.[1] ?? 0),
  };
}

/** Time each of the store's private steps: instance methods wrapped (this is a profile, not a test). */
function instrument(store: SqliteDocumentStore, day: { current: DayFigures }, walPath: string): void {
  const target = store as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const [method, field] of [
    ['write', 'transaction'],
    ['checkpointAfter', 'checkpoint'],
    ['optimize', 'optimize'],
    ['releaseCache', 'release'],
  ] as const) {
    const original = target[method]!.bind(store);
    target[method] = (...args: unknown[]) => {
      if (method === 'checkpointAfter') day.current.walMb = Math.max(day.current.walMb, fileMb(walPath));
      const ioBefore = method === 'write' ? io() : { rchar: 0, wchar: 0 };
      const t = performance.now();
      const result = original(...args);
      if (result instanceof Promise)
        return result.finally(() => {
          day.current[field] += performance.now() - t;
          if (method === 'write') {
            const ioAfter = io();
            day.current.writeMb += (ioAfter.wchar - ioBefore.wchar) / 2 ** 20;
            day.current.readMb += (ioAfter.rchar - ioBefore.rchar) / 2 ** 20;
          }
        });
      day.current[field] += performance.now() - t;
      return result;
    };
  }
}

function summary(label: string, rows: DayFigures[]): Record<string, unknown> {
  const mean = (field: keyof DayFigures): number =>
    Math.round((rows.reduce((sum, row) => sum + row[field], 0) / rows.length) * 10) / 10;
  return {
    dates: label,
    generateMs: mean('generate'),
    upsertMs: mean('upsert'),
    transactionMs: mean('transaction'),
    checkpointMs: mean('checkpoint'),
    optimizeMs: mean('optimize'),
    releaseMs: mean('release'),
    countMs: mean('count'),
    cpuMs: mean('cpu'),
    systemCpuMs: mean('systemCpu'),
    walMbBeforeCheckpoint: mean('walMb'),
    transactionWriteMb: mean('writeMb'),
    transactionReadMb: mean('readMb'),
    documents: mean('documents'),
  };
}

async function main(): Promise<void> {
  const dir = option('dir', '') || mkdtempSync(join(tmpdir(), 'store-writes-'));
  const path = join(dir, 'documents.sqlite');
  const pageSize = option('page-size', '');
  if (pageSize && !existsSync(path)) {
    // An existing file keeps its page size: make one with the page size to try.
    const db = new Database(path);
    db.pragma(`page_size = ${Number(pageSize)}`);
    db.pragma('journal_mode = WAL');
    db.close();
  }
  const store = new SqliteDocumentStore({ path });
  const day = { current: {} as DayFigures };
  instrument(store, day, `${path}-wal`);
  const first = dayNumber(until) - days + 1;
  const rows: DayFigures[] = [];
  console.log(JSON.stringify({ days, scale, until, dir, load: loadavg().map((l) => Math.round(l * 100) / 100) }));
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  for (let d = first; d < first + days; d += 1) {
    const date = isoDate(d);
    day.current = {
      generate: 0,
      transaction: 0,
      checkpoint: 0,
      optimize: 0,
      release: 0,
      upsert: 0,
      count: 0,
      cpu: 0,
      systemCpu: 0,
      walMb: 0,
      writeMb: 0,
      readMb: 0,
      documents: 0,
    };
    const cpu = process.cpuUsage();
    let t = performance.now();
    let batch: StoredDocument[] = [];
    const batches: StoredDocument[][] = [];
    for (const record of generateSalesOrders({ ...settings, scale, date })) {
      batch.push({ id: record.id, data: record.data });
      if (batch.length >= MAX_BATCH) {
        batches.push(batch);
        batch = [];
      }
    }
    if (batch.length > 0) batches.push(batch);
    day.current.generate = performance.now() - t;
    t = performance.now();
    for (const b of batches) {
      await store.upsertBatch(COLLECTION, b);
      day.current.documents += b.length;
    }
    day.current.upsert = performance.now() - t;
    t = performance.now();
    await store.count(COLLECTION, { where: [{ field: 'run_date', op: '==', value: date }] });
    day.current.count = performance.now() - t;
    const used = process.cpuUsage(cpu);
    day.current.cpu = (used.user + used.system) / 1000;
    day.current.systemCpu = used.system / 1000;
    rows.push(day.current);
    if (every > 0 && rows.length % every === 0)
      console.log(JSON.stringify(summary(`${rows.length - every + 1}-${rows.length}`, rows.slice(-every))));
  }
  const quarter = Math.ceil(days / 4);
  for (let q = 0; q < 4; q += 1) {
    const part = rows.slice(q * quarter, (q + 1) * quarter);
    if (part.length > 0) console.log(JSON.stringify(summary(`Q${q + 1}`, part)));
  }
  const cpu = process.cpuUsage(cpuStarted);
  console.log(
    JSON.stringify({
      wallS: Math.round(performance.now() - started) / 1000,
      cpuS: Math.round((cpu.user + cpu.system) / 1000) / 1000,
      dbMb: Math.round(fileMb(path)),
      load: loadavg().map((l) => Math.round(l * 100) / 100),
    }),
  );
  await store.close();
  if (!process.argv.includes('--dir')) rmSync(dir, { recursive: true, force: true });
}

await main();
