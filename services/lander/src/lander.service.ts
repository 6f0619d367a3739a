/** The lander service factory (kept apart from index.ts so compose.ts can import it without a cycle). */
import { tmpdir } from 'node:os';
import type { CloudEvent, DocumentStore, ObjectStore, ParquetWriter, Service } from '@mlops/kernel';
import { LanderErrors } from './errors.js';
import { landSalesDay } from './handler.js';

/** What {@link createLanderService} needs. */
export interface LanderServiceDeps {
  /** The document store sales-gen writes to. */
  readonly documents: DocumentStore;
  /** The lake. */
  readonly objects: ObjectStore;
  /** The Parquet writer (`new DuckDbParquetWriter()`). */
  readonly parquet: ParquetWriter;
  /** Rows per Parquet part file (default 100,000). */
  readonly rowsPerPart?: number;
  /** Documents per round trip to the store (default 1,000). */
  readonly pageSize?: number;
  /** Local folder for part files before they are put in the lake (default the OS temp folder). */
  readonly tempDir?: string;
}

/**
 * Default rows per part file (about 10 MB of Parquet). The last part's conversion is the only one
 * not overlapped with reading, so smaller parts finish sooner; memory does not depend on it.
 */
export const DEFAULT_ROWS_PER_PART = 100_000;

/** The lander service. */
export function createLanderService(deps: LanderServiceDeps): Service {
  const rowsPerPart = deps.rowsPerPart ?? DEFAULT_ROWS_PER_PART;
  const pageSize = deps.pageSize ?? 1000;
  if (!Number.isInteger(rowsPerPart) || rowsPerPart < 1)
    throw LanderErrors.badSetting('rowsPerPart', `must be a whole number of at least 1 (got ${rowsPerPart})`);
  if (!Number.isInteger(pageSize) || pageSize < 1)
    throw LanderErrors.badSetting('pageSize', `must be a whole number of at least 1 (got ${pageSize})`);
  const handlerDeps = {
    documents: deps.documents,
    objects: deps.objects,
    parquet: deps.parquet,
    rowsPerPart,
    pageSize,
    tempDir: deps.tempDir ?? tmpdir(),
  };
  return {
    name: 'lander',
    consumes: ['mlops.sales.generated.v1'],
    handle: (event, context) => landSalesDay(handlerDeps, event as CloudEvent<'mlops.sales.generated.v1'>, context),
  };
}
