/**
 * Bronze partitions for the transform tests: written from records exactly as the lake holds them
 * (sales as Parquet with the lander's columns, clickstream and startups as JSON lines), either
 * hand-written records or the real generators' output for a date.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEV_PII_HMAC_KEY, type BronzeSource, type ParquetRow, type ParquetValue } from '@mlops/kernel';
import { DuckDbParquetWriter } from '@mlops/adapters-local';
import {
  SALES_BRONZE_COLUMNS,
  generateClickEvents,
  generateSalesOrders,
  generateStartupCompanies,
  startupLoadOn,
} from '@mlops/synthetic';

/** A bronze record as a generator or a test writes it. */
export type BronzeRecord = Record<string, unknown>;

const SALES_TYPES = new Map(SALES_BRONZE_COLUMNS.map((column) => [column.name, column.type]));

/** A sales document as the lander writes it to Parquet: values that do not fit go to `_extra_json`. */
export function salesParquetRow(record: BronzeRecord, documentId: string): ParquetRow {
  const row: Record<string, ParquetValue> = { _document_id: documentId };
  const extra: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(record)) {
    const type = SALES_TYPES.get(field);
    if (value === null || value === undefined) {
      if (type) row[field] = null;
      continue;
    }
    if (type === 'VARCHAR' && (typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value))))
      row[field] = String(value);
    else if (type === 'DOUBLE' && typeof value === 'number' && Number.isFinite(value)) row[field] = value;
    else if (type === 'BIGINT' && typeof value === 'number' && Number.isSafeInteger(value)) row[field] = value;
    else extra[field] = value;
  }
  row._extra_json = Object.keys(extra).length > 0 ? JSON.stringify(extra) : null;
  return row;
}

function partitionDir(lakeRoot: string, source: BronzeSource, runDate: string): string {
  return join(lakeRoot, 'bronze', source, `dt=${runDate}`);
}

let writer: DuckDbParquetWriter | undefined;

/** Close the shared Parquet writer (call in afterAll). */
export async function closeBronzeWriter(): Promise<void> {
  await writer?.close();
  writer = undefined;
}

/** Replace one bronze partition with these records. */
export async function writeBronzePartition(
  lakeRoot: string,
  source: BronzeSource,
  runDate: string,
  records: readonly BronzeRecord[],
): Promise<void> {
  const dir = partitionDir(lakeRoot, source, runDate);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  if (source === 'sales') {
    writer ??= new DuckDbParquetWriter({ threads: 1 });
    const file = await writer.create(join(dir, 'part-00000.parquet'), SALES_BRONZE_COLUMNS);
    await file.write(records.map((record, index) => salesParquetRow(record, `${String(record.order_id)}_${index}`)));
    await file.finish();
    return;
  }
  writeFileSync(
    join(dir, 'part-00000.jsonl'),
    records.map((record) => JSON.stringify(record)).join('\n') + (records.length > 0 ? '\n' : ''),
  );
}

/** Remove a bronze partition. */
export function removeBronzePartition(lakeRoot: string, source: BronzeSource, runDate: string): void {
  rmSync(partitionDir(lakeRoot, source, runDate), { recursive: true, force: true });
}

/** Settings of the real generators for a test world. */
export interface WorldSettings {
  seed: number;
  scale: number;
  dirtyShare: number;
}

/** Which startups load (if any) a date gets, with `fullLoadDate` the date of the full load. */
export function startupLoadFor(runDate: string, fullLoadDate: string): 'full' | 'delta' | undefined {
  return startupLoadOn(runDate, fullLoadDate);
}

/** Write one date of bronze with the real generators: sales, clickstream and, when due, startups. */
export async function writeGeneratedDay(
  lakeRoot: string,
  runDate: string,
  world: WorldSettings,
  fullLoadDate: string,
): Promise<{ sources: BronzeSource[] }> {
  const sales = [...generateSalesOrders({ ...world, date: runDate, piiHmacKey: DEV_PII_HMAC_KEY })].map(
    (record) => record.data,
  );
  await writeBronzePartition(lakeRoot, 'sales', runDate, sales);
  const clicks = [...generateClickEvents({ ...world, date: runDate })].map((record) => record.data);
  await writeBronzePartition(lakeRoot, 'clickstream', runDate, clicks);
  const sources: BronzeSource[] = ['sales', 'clickstream'];
  const loadType = startupLoadFor(runDate, fullLoadDate);
  if (loadType) {
    const companies = [...generateStartupCompanies({ ...world, date: runDate, loadType })].map((record) => record.data);
    await writeBronzePartition(lakeRoot, 'startups', runDate, companies);
    sources.push('startups');
  }
  return { sources };
}
