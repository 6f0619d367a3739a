import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  BRONZE_CONTENT_TYPES,
  SALES_BRONZE_COLUMNS,
  SALES_DOCUMENT_COLUMNS,
  bronzeLandedData,
  bronzePartKey,
  bronzePrefix,
  removeStaleObjects,
} from '@mlops/synthetic';
import {
  isIsoDate,
  type CloudEvent,
  type DocumentFileWriter,
  type DocumentStore,
  type HandlerContext,
  type LandedObject,
  type ObjectStore,
  type ParquetFileInfo,
  type ParquetWriter,
} from '@mlops/kernel';
import { LanderErrors } from './errors.js';

/** What the lander needs. */
export interface LanderDeps {
  readonly documents: DocumentStore;
  readonly objects: ObjectStore;
  readonly parquet: ParquetWriter;
  /** Rows per Parquet part file. */
  readonly rowsPerPart: number;
  /** Documents fetched per round trip. */
  readonly pageSize: number;
  /** Local folder for the part files before they go to the lake. */
  readonly tempDir: string;
}

/**
 * Land one run date's sales: stream that date's documents as the store's JSON text, never parsed
 * here (one equality query, so the cost does not grow with history), into Parquet part files of
 * `rowsPerPart` rows in a local temporary folder, finished parts converting while the next is
 * written; then put each part in the lake (an atomic replace of a deterministic key), delete the
 * partition's stale parts, and announce the partition.
 * Nothing reaches the lake unless every part was written; an empty day is an error, not a file.
 */
export async function landSalesDay(
  deps: LanderDeps,
  event: CloudEvent<'mlops.sales.generated.v1'>,
  context: HandlerContext,
): Promise<void> {
  const { runDate, collection } = event.data;
  if (!isIsoDate(runDate)) throw LanderErrors.badRunDate(runDate);
  const started = performance.now();
  const workDir = await mkdtemp(join(deps.tempDir, 'mlops-lander-'));
  const parts: Promise<ParquetFileInfo>[] = [];
  let file: DocumentFileWriter | undefined;
  try {
    let partRows = 0;
    let rows = 0;
    const closePart = () => {
      if (!file) return;
      // The part converts while the next one is written; the writer makes the next one wait while
      // a finished part waits for its turn, so memory and disk stay bounded.
      const finishing = file.finish();
      finishing.catch(() => undefined); // awaited later; never an unhandled rejection meanwhile
      parts.push(finishing);
      file = undefined;
      partRows = 0;
    };
    const pages = deps.documents.queryJson(collection, {
      where: [{ field: 'run_date', op: '==', value: runDate }],
      pageSize: deps.pageSize,
    });
    for await (const page of pages) {
      let offset = 0;
      while (offset < page.length) {
        file ??= await deps.parquet.createFromDocuments(
          join(workDir, `part-${String(parts.length).padStart(5, '0')}.parquet`),
          SALES_BRONZE_COLUMNS,
          SALES_DOCUMENT_COLUMNS,
        );
        const take = Math.min(page.length - offset, deps.rowsPerPart - partRows);
        await file.write(offset === 0 && take === page.length ? page : page.slice(offset, offset + take));
        offset += take;
        partRows += take;
        rows += take;
        if (partRows >= deps.rowsPerPart) closePart();
      }
    }
    closePart();
    const readMs = performance.now() - started;
    const written = await Promise.all(parts);
    if (rows === 0) throw LanderErrors.sourceEmpty(collection, runDate);
    const convertedMs = performance.now() - started;

    // All parts at once: one part's copy runs on the I/O threads while another is hashed, instead of
    // the other core waiting through ten copies and hashes in turn at the end of the day.
    const objects: LandedObject[] = await Promise.all(
      written.map(async (part, index) => {
        const key = bronzePartKey('sales', runDate, index, 'parquet');
        const meta = await deps.objects.putFile(key, part.path, { contentType: BRONZE_CONTENT_TYPES.parquet });
        return { key, bytes: meta.bytes, sha256: meta.sha256, rows: part.rows };
      }),
    );
    const staleRemoved = await removeStaleObjects(
      deps.objects,
      bronzePrefix('sales', runDate),
      objects.map((object) => object.key),
    );
    const landed = bronzeLandedData('sales', runDate, 'parquet', objects, 'daily', event.data.backfill);

    if (rows !== event.data.documentCount) {
      context.log.warning(
        `landed ${rows} sales documents for ${runDate} but sales-gen announced ${event.data.documentCount}; a newer generation of the day may have replaced them`,
        {
          runDate,
          rows,
          announced: event.data.documentCount,
        },
      );
    }
    context.log.info(`landed ${rows} sales rows for ${runDate} in ${objects.length} Parquet part(s)`, {
      runDate,
      rows,
      parts: objects.length,
      bytes: landed.bytes,
      staleRemoved,
      readMs: Math.round(readMs),
      convertMs: Math.round(convertedMs),
      durationMs: Math.round(performance.now() - started),
    });
    await context.emit('mlops.bronze.landed.v1', landed, { subject: `sales/${runDate}` });
  } finally {
    if (file) await file.abort().catch(() => undefined);
    await Promise.allSettled(parts);
    await rm(workDir, { recursive: true, force: true });
  }
}
