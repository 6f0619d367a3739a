/**
 * The layout of the bronze lake, shared by the generators, the lander and whoever reads bronze:
 * `bronze/<source>/dt=YYYY-MM-DD/part-NNNNN.<ext>`, the content hash of a partition, and the
 * column types of the sales Parquet files.
 */
import { createHash } from 'node:crypto';
import type { BronzeSource, LandedObject, DocumentColumns, ParquetColumn } from '@mlops/kernel';

/** File extension of each bronze format. */
export type BronzeFormat = 'parquet' | 'jsonl';

/** The prefix of a bronze partition, `bronze/<source>/dt=YYYY-MM-DD/`. */
export function bronzePrefix(source: BronzeSource, runDate: string): string {
  return `bronze/${source}/dt=${runDate}/`;
}

/** The key of part `index` of a partition, `bronze/<source>/dt=YYYY-MM-DD/part-00000.<ext>`. */
export function bronzePartKey(source: BronzeSource, runDate: string, index: number, format: BronzeFormat): string {
  return `${bronzePrefix(source, runDate)}part-${String(index).padStart(5, '0')}.${format}`;
}

/** The run date of a partition key or prefix (`.../dt=YYYY-MM-DD/...`), or undefined. */
export function partitionDateOf(key: string): string | undefined {
  return /\/dt=(\d{4}-\d{2}-\d{2})\//.exec(key)?.[1];
}

/** The content hash of a partition: SHA-256 over `<key> <sha256>\n` of its objects in key order. */
export function partitionContentHash(objects: readonly Pick<LandedObject, 'key' | 'sha256'>[]): string {
  const hash = createHash('sha256');
  for (const object of [...objects].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)))
    hash.update(`${object.key} ${object.sha256}\n`);
  return hash.digest('hex');
}

/** MIME types the lake stores bronze objects with. */
export const BRONZE_CONTENT_TYPES: Record<BronzeFormat, string> = {
  parquet: 'application/vnd.apache.parquet',
  jsonl: 'application/x-ndjson',
};

/**
 * Columns of `bronze/sales/*.parquet`: the sales order fields with types that tolerate the dirty
 * values (timestamps and dates stay raw strings; an epoch-millis number becomes its digits), then
 * `_document_id` (the document-store id; duplicates of an order have distinct ids) and
 * `_extra_json` (a JSON object of any field the columns could not hold: unknown fields, or values
 * of the wrong type), so landing never loses a value.
 */
/**
 * Where a sales document's id and the fields that fit no column go when documents are written with
 * `ParquetWriter.createFromDocuments`: every other column of {@link SALES_BRONZE_COLUMNS} is filled
 * from the field of its name when the value fits the column's type; anything that does not fit (a
 * string quantity, an object where text belongs, an unknown field) stays in `_extra_json`.
 */
export const SALES_DOCUMENT_COLUMNS: DocumentColumns = { idColumn: '_document_id', extraColumn: '_extra_json' };

export const SALES_BRONZE_COLUMNS: readonly ParquetColumn[] = [
  { name: '_document_id', type: 'VARCHAR' },
  { name: 'order_id', type: 'VARCHAR' },
  { name: 'customer_id', type: 'VARCHAR' },
  { name: 'order_ts', type: 'VARCHAR' },
  { name: 'run_date', type: 'VARCHAR' },
  { name: 'customer_email_hash', type: 'VARCHAR' },
  { name: 'customer_phone_hash', type: 'VARCHAR' },
  { name: 'customer_region', type: 'VARCHAR' },
  { name: 'customer_segment', type: 'VARCHAR' },
  { name: 'customer_signup_date', type: 'VARCHAR' },
  { name: 'acquisition_channel', type: 'VARCHAR' },
  { name: 'product_id', type: 'VARCHAR' },
  { name: 'product_name', type: 'VARCHAR' },
  { name: 'category', type: 'VARCHAR' },
  { name: 'quantity', type: 'BIGINT' },
  { name: 'unit_price_usd', type: 'DOUBLE' },
  { name: 'discount_pct', type: 'DOUBLE' },
  { name: 'gross_amount_usd', type: 'DOUBLE' },
  { name: 'net_amount_usd', type: 'DOUBLE' },
  { name: 'payment_method', type: 'VARCHAR' },
  { name: 'channel', type: 'VARCHAR' },
  { name: 'status', type: 'VARCHAR' },
  { name: '_extra_json', type: 'VARCHAR' },
];

/** Running counts of a {@link toJsonLines} stream. */
export interface JsonLinesTally {
  rows: number;
  dirty: number;
}

/**
 * Generated records as JSON lines, in chunks of about 256 KB, counting rows and dirty rows as they
 * go: a body for `ObjectStore.put` that never holds the whole partition in memory.
 */
export async function* toJsonLines(
  records: Iterable<{ readonly data: unknown; readonly dirty?: unknown }>,
  tally: JsonLinesTally,
): AsyncGenerator<Buffer> {
  let text = '';
  for (const record of records) {
    text += JSON.stringify(record.data) + '\n';
    tally.rows += 1;
    if (record.dirty) tally.dirty += 1;
    if (text.length >= 256 * 1024) {
      yield Buffer.from(text, 'utf8');
      text = '';
    }
  }
  if (text.length > 0) yield Buffer.from(text, 'utf8');
}
