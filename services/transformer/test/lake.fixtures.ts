/**
 * A local lake written with the real generators, and the `bronze.landed` events the generators and
 * the lander would publish for it (content hashes of the files as written).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEV_PII_HMAC_KEY, type BackfillWindow, type BronzeLanded, type BronzeSource } from '@mlops/kernel';
import { DuckDbParquetWriter } from '@mlops/adapters-local';
import {
  SALES_BRONZE_COLUMNS,
  SALES_DOCUMENT_COLUMNS,
  bronzePartKey,
  bronzePrefix,
  generateClickEvents,
  generateSalesOrders,
  generateStartupCompanies,
  bronzeLandedData,
  startupLoadOn,
} from '@mlops/synthetic';

/** The generators' settings for a test world. */
export interface World {
  seed: number;
  scale: number;
  dirtyShare: number;
}

/** Writes partitions and describes them as `bronze.landed` would. */
export class GeneratedLake {
  private readonly writer = new DuckDbParquetWriter({ threads: 1 });

  constructor(
    readonly root: string,
    private readonly world: World,
  ) {}

  async close(): Promise<void> {
    await this.writer.close();
  }

  private landed(
    source: BronzeSource,
    runDate: string,
    key: string,
    rows: number,
    loadType: BronzeLanded['loadType'],
    backfill?: BackfillWindow,
  ): BronzeLanded {
    const path = join(this.root, key);
    const sha256 = createHash('sha256').update(readFileSync(path)).digest('hex');
    return bronzeLandedData(
      source,
      runDate,
      source === 'sales' ? 'parquet' : 'jsonl',
      [{ key, bytes: statSync(path).size, sha256, rows }],
      loadType,
      backfill,
    );
  }

  /** Write one partition of records; resolves to its landed event data. */
  async write(
    source: BronzeSource,
    runDate: string,
    records: readonly Record<string, unknown>[],
    loadType: BronzeLanded['loadType'],
    backfill?: BackfillWindow,
  ): Promise<BronzeLanded> {
    const format = source === 'sales' ? 'parquet' : 'jsonl';
    const key = bronzePartKey(source, runDate, 0, format);
    rmSync(join(this.root, bronzePrefix(source, runDate)), { recursive: true, force: true });
    mkdirSync(join(this.root, bronzePrefix(source, runDate)), { recursive: true });
    if (source === 'sales') {
      const file = await this.writer.createFromDocuments(
        join(this.root, key),
        SALES_BRONZE_COLUMNS,
        SALES_DOCUMENT_COLUMNS,
      );
      await file.write(records.map((record, index) => ({ id: `doc_${index}`, json: JSON.stringify(record) })));
      await file.finish();
    } else {
      writeFileSync(join(this.root, key), records.map((record) => JSON.stringify(record) + '\n').join(''));
    }
    return this.landed(source, runDate, key, records.length, loadType, backfill);
  }

  /** Generate a whole date (sales, clickstream, and startups when due); resolves to its landed events' data. */
  async generateDay(runDate: string, fullLoadDate: string, backfill?: BackfillWindow): Promise<BronzeLanded[]> {
    const sales = [...generateSalesOrders({ ...this.world, date: runDate, piiHmacKey: DEV_PII_HMAC_KEY })].map(
      (record) => record.data,
    );
    const clicks = [...generateClickEvents({ ...this.world, date: runDate })].map((record) => record.data);
    const landed = [
      await this.write('sales', runDate, sales, 'daily', backfill),
      await this.write('clickstream', runDate, clicks, 'daily', backfill),
    ];
    const loadType = startupLoadOn(runDate, fullLoadDate);
    if (loadType) {
      const companies = [...generateStartupCompanies({ ...this.world, date: runDate, loadType })].map(
        (record) => record.data,
      );
      landed.push(await this.write('startups', runDate, companies, loadType, backfill));
    }
    return landed;
  }
}
