/**
 * A bronze lake for the transform benchmark, written with the real generators: sales as Parquet
 * with the lander's columns, clickstream and startups as JSON lines (startups on the first date
 * and on Fridays), one partition per date, reused when already there.
 */
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { DEV_PII_HMAC_KEY, type BronzeSource, type JsonDocument } from '@mlops/kernel';
import { DuckDbParquetWriter } from '@mlops/adapters-local';
import {
  SALES_BRONZE_COLUMNS,
  SALES_DOCUMENT_COLUMNS,
  bronzePartKey,
  bronzePrefix,
  generateClickEvents,
  generateSalesOrders,
  generateStartupCompanies,
  startupLoadOn,
} from '@mlops/synthetic';

/** The generators' settings. */
export interface BenchWorld {
  seed: number;
  scale: number;
  dirtyShare: number;
}

async function writeLines(path: string, records: Iterable<{ data: unknown }>): Promise<number> {
  const stream = createWriteStream(path);
  let rows = 0;
  let chunk = '';
  for (const record of records) {
    chunk += JSON.stringify(record.data) + '\n';
    rows += 1;
    if (chunk.length > 1 << 20) {
      if (!stream.write(chunk)) await once(stream, 'drain');
      chunk = '';
    }
  }
  stream.end(chunk);
  await once(stream, 'finish');
  return rows;
}

/** Writes (or finds) bronze partitions under `root`. */
export class BenchLake {
  private readonly writer = new DuckDbParquetWriter({ threads: 2 });

  constructor(
    readonly root: string,
    readonly world: BenchWorld,
    readonly fullLoadDate: string,
  ) {}

  /** The sources a date has. */
  sourcesOn(date: string): BronzeSource[] {
    return startupLoadOn(date, this.fullLoadDate) ? ['sales', 'clickstream', 'startups'] : ['sales', 'clickstream'];
  }

  private done(source: BronzeSource, date: string): string {
    return join(this.root, bronzePrefix(source, date), '_SUCCESS');
  }

  /** Write a date's partitions unless they are there; resolves to the rows written (0 when reused). */
  async ensureDay(date: string): Promise<number> {
    let rows = 0;
    for (const source of this.sourcesOn(date)) {
      if (existsSync(this.done(source, date))) continue;
      mkdirSync(join(this.root, bronzePrefix(source, date)), { recursive: true });
      if (source === 'sales') {
        const file = await this.writer.createFromDocuments(
          join(this.root, bronzePartKey('sales', date, 0, 'parquet')),
          SALES_BRONZE_COLUMNS,
          SALES_DOCUMENT_COLUMNS,
        );
        let batch: JsonDocument[] = [];
        for (const record of generateSalesOrders({ ...this.world, date, piiHmacKey: DEV_PII_HMAC_KEY })) {
          batch.push({ id: record.id, json: JSON.stringify(record.data) });
          if (batch.length >= 5000) {
            await file.write(batch);
            batch = [];
          }
        }
        await file.write(batch);
        rows += (await file.finish()).rows;
      } else if (source === 'clickstream') {
        rows += await writeLines(
          join(this.root, bronzePartKey('clickstream', date, 0, 'jsonl')),
          generateClickEvents({ ...this.world, date }),
        );
      } else {
        const loadType = startupLoadOn(date, this.fullLoadDate)!;
        rows += await writeLines(
          join(this.root, bronzePartKey('startups', date, 0, 'jsonl')),
          generateStartupCompanies({ ...this.world, date, loadType }),
        );
      }
      await writeLines(this.done(source, date), []);
    }
    return rows;
  }

  async close(): Promise<void> {
    await this.writer.close();
  }
}
