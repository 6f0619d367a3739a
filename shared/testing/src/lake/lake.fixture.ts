/**
 * A bronze lake written as the platform writes it: the real generators make each date's records,
 * sales go through the lander's Parquet writer and columns (one part, the document ids as
 * sales-gen stores them), clickstream and startups through the generators' JSON-lines landing
 * (startups on the full-load date and on Fridays), each partition put in a filesystem object store
 * under the bronze layout and described as its `bronze.landed` event. Tests break partitions with
 * {@link GeneratedLake.breakPartition} to check what the pipeline does with bad files.
 */
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDbParquetWriter, FsObjectStore, openDuckDbWarehouse } from '@mlops/adapters-local';
import {
  DEV_PII_HMAC_KEY,
  type BackfillWindow,
  type BronzeLanded,
  type BronzeSource,
  type JsonDocument,
  type ObjectMeta,
} from '@mlops/kernel';
import {
  BRONZE_CONTENT_TYPES,
  SALES_BRONZE_COLUMNS,
  SALES_DOCUMENT_COLUMNS,
  bronzeLandedData,
  bronzePartKey,
  bronzePrefix,
  generateClickEvents,
  generateSalesOrders,
  generateStartupCompanies,
  removeStaleObjects,
  replaceJsonlPartition,
  startupLoadOn,
} from '@mlops/synthetic';

/** The generators' settings of a lake. */
export interface LakeWorld {
  seed: number;
  scale: number;
  /** Share of dirty records (see the generators' dirt). */
  dirtyShare: number;
}

/** Options of {@link GeneratedLake.landDay}. */
export interface LandDayOptions {
  /** The startups' full-load date (startups land on it and on Fridays after it). */
  fullLoadDate: string;
  /** The backfill window the landed events name. */
  backfill?: BackfillWindow;
  /** Keep a partition that is already in the lake (not rewritten; its event describes the file there). */
  reuse?: boolean;
}

/** How {@link GeneratedLake.breakPartition} breaks a partition's file. */
export type PartitionDamage =
  /** A Parquet file whose last 8 bytes (the footer's length and magic) are zeros: same size. */
  | 'parquet-footer'
  /** A JSON-lines file whose fourth line has a stray brace: same size. */
  | 'jsonl-line'
  /** Bytes that are not text at all: same size. */
  | 'garbage'
  /** The file deleted. */
  | 'missing'
  /** A Parquet file of another schema (every column another type, the ids missing), 20 rows. */
  | 'other-schema';

const SALES_BATCH = 5_000;

/** A lake under `root`, written by the real generators and the lander's writers. */
export class GeneratedLake {
  /** The lake as an object store (the transformer reads it through one). */
  readonly objects: FsObjectStore;
  private readonly writer: DuckDbParquetWriter;

  /** `threads`: DuckDB threads per Parquet file (1, the default, gives the same bytes every run). */
  constructor(
    readonly root: string,
    readonly world: LakeWorld,
    options: { threads?: number } = {},
  ) {
    this.objects = new FsObjectStore({ root });
    this.writer = new DuckDbParquetWriter({ threads: options.threads ?? 1 });
  }

  /** The sources that land on `date`. */
  static sourcesOn(date: string, fullLoadDate: string): BronzeSource[] {
    return startupLoadOn(date, fullLoadDate) ? ['sales', 'clickstream', 'startups'] : ['sales', 'clickstream'];
  }

  /** The key of the (single) part of a partition. */
  static partKey(source: BronzeSource, date: string): string {
    return bronzePartKey(source, date, 0, source === 'sales' ? 'parquet' : 'jsonl');
  }

  /** Land every source due on `date`; resolves to the `bronze.landed` data of each partition. */
  async landDay(date: string, options: LandDayOptions): Promise<BronzeLanded[]> {
    const landed: BronzeLanded[] = [];
    for (const source of GeneratedLake.sourcesOn(date, options.fullLoadDate)) {
      const there = options.reuse ? await this.objects.head(GeneratedLake.partKey(source, date)) : undefined;
      landed.push(there ? await this.describe(source, date, there, options) : await this.land(source, date, options));
    }
    return landed;
  }

  /** The `bronze.landed` data of a partition already in the lake (its rows counted in the file). */
  private async describe(
    source: BronzeSource,
    date: string,
    meta: ObjectMeta,
    options: LandDayOptions,
  ): Promise<BronzeLanded> {
    const path = join(this.root, meta.key);
    let rows = 0;
    if (source === 'sales') {
      const engine = await openDuckDbWarehouse({ path: ':memory:' });
      try {
        const [row] = await engine.query<{ n: bigint | number }>(`select count(*) as n from read_parquet(?)`, [path]);
        rows = Number(row!.n);
      } finally {
        await engine.close();
      }
    } else {
      const text = readFileSync(path);
      for (let at = text.indexOf(10); at !== -1; at = text.indexOf(10, at + 1)) rows += 1;
    }
    const loadType = source === 'startups' ? startupLoadOn(date, options.fullLoadDate)! : 'daily';
    const object = { key: meta.key, bytes: meta.bytes, sha256: meta.sha256, rows };
    return bronzeLandedData(
      source,
      date,
      source === 'sales' ? 'parquet' : 'jsonl',
      [object],
      loadType,
      options.backfill,
    );
  }

  /** Land consecutive `dates` (the first is the full load unless `fullLoadDate` says otherwise). */
  async landDays(dates: readonly string[], options: Partial<LandDayOptions> = {}): Promise<BronzeLanded[]> {
    const landed: BronzeLanded[] = [];
    for (const date of dates) landed.push(...(await this.landDay(date, { fullLoadDate: dates[0]!, ...options })));
    return landed;
  }

  private async land(source: BronzeSource, date: string, options: LandDayOptions): Promise<BronzeLanded> {
    if (source === 'sales') return this.landSales(date, options.backfill);
    const loadType = startupLoadOn(date, options.fullLoadDate);
    const records =
      source === 'clickstream'
        ? generateClickEvents({ ...this.world, date })
        : generateStartupCompanies({ ...this.world, date, loadType: loadType! });
    const { object } = await replaceJsonlPartition(this.objects, source, date, records);
    const landedAs = source === 'startups' ? loadType! : 'daily';
    return bronzeLandedData(source, date, 'jsonl', [object], landedAs, options.backfill);
  }

  /** Sales as the lander lands them: documents to a local Parquet part, put in the lake, stale parts removed. */
  private async landSales(date: string, backfill: BackfillWindow | undefined): Promise<BronzeLanded> {
    const work = await mkdtemp(join(tmpdir(), 'mlops-lake-fixture-'));
    try {
      const file = await this.writer.createFromDocuments(
        join(work, 'part.parquet'),
        SALES_BRONZE_COLUMNS,
        SALES_DOCUMENT_COLUMNS,
      );
      let batch: JsonDocument[] = [];
      for (const record of generateSalesOrders({ ...this.world, date, piiHmacKey: DEV_PII_HMAC_KEY })) {
        batch.push({ id: record.id, json: JSON.stringify(record.data) });
        if (batch.length >= SALES_BATCH) {
          await file.write(batch);
          batch = [];
        }
      }
      await file.write(batch);
      const part = await file.finish();
      const key = GeneratedLake.partKey('sales', date);
      const meta = await this.objects.putFile(key, part.path, { contentType: BRONZE_CONTENT_TYPES.parquet });
      await removeStaleObjects(this.objects, bronzePrefix('sales', date), [key]);
      return bronzeLandedData(
        'sales',
        date,
        'parquet',
        [{ key, bytes: meta.bytes, sha256: meta.sha256, rows: part.rows }],
        'daily',
        backfill,
      );
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  /**
   * Break the file of a partition in place (`damage` says how); resolves to a function that puts
   * the original bytes back. `other-schema` (sales only) leaves a file that lands as it is: `landed`
   * is the event data that describes it (with `backfill`).
   */
  async breakPartition(
    source: BronzeSource,
    date: string,
    damage: PartitionDamage,
    backfill?: BackfillWindow,
  ): Promise<{ key: string; restore: () => void; landed?: BronzeLanded }> {
    const key = GeneratedLake.partKey(source, date);
    const path = join(this.root, key);
    const original = readFileSync(path);
    const restore = () => writeFileSync(path, original);
    if (damage === 'parquet-footer') {
      const bytes = Buffer.from(original);
      bytes.fill(0, bytes.length - 8);
      writeFileSync(path, bytes);
    } else if (damage === 'jsonl-line') {
      const lines = original.toString('utf8').split('\n');
      lines[3] = lines[3]!.replace(/"/, '{');
      writeFileSync(path, lines.join('\n'));
    } else if (damage === 'garbage') {
      const bytes = Buffer.alloc(original.length);
      for (let index = 0; index < bytes.length; index++) bytes[index] = (index * 131 + 7) % 256;
      writeFileSync(path, bytes);
    } else if (damage === 'missing') {
      unlinkSync(path);
    } else {
      const engine = await openDuckDbWarehouse({ path: ':memory:' });
      try {
        await engine.execute(
          `copy (select [i, i + 1] as order_ref, {'usd': i} as amount, i as customer_id from range(20) t(i)) to '${path.replaceAll("'", "''")}' (format parquet)`,
        );
      } finally {
        await engine.close();
      }
      const meta = (await this.objects.head(key))!;
      const objects = [{ key, bytes: meta.bytes, sha256: meta.sha256, rows: 20 }];
      return { key, restore, landed: bronzeLandedData(source, date, 'parquet', objects, 'daily', backfill) };
    }
    return { key, restore };
  }

  async close(): Promise<void> {
    await this.writer.close();
  }
}
