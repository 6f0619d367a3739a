import { DuckDBTypeId, type DuckDBConnection, type DuckDBDecimalType } from '@duckdb/node-api';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GcsStorage } from '../gcs/object-storage.js';
import { HttpError, NotImplementedError, onlyFields } from '../http/server.js';
import { writeToTable } from './destination.js';
import type { BigQueryEngine, TableReference } from './engine.js';
import { canonicalTypeOf, quoteIdentifier, quoteString, type TableField } from './schema.js';

/** The parts of `configuration.load` the stand-in runs. */
export interface LoadConfig {
  sourceUris: string[];
  sourceFormat?: string;
  destinationTable: TableReference;
  writeDisposition?: string;
  createDisposition?: string;
  schema?: { fields: TableField[] };
  autodetect?: boolean;
}

/** What a load job did (`statistics.load`). */
export interface LoadOutcome {
  inputFiles: number;
  inputFileBytes: number;
  outputRows: number;
}

/** The `configuration.load` fields the stand-in understands; others are 501. */
export const LOAD_FIELDS = [
  'sourceUris',
  'sourceFormat',
  'destinationTable',
  'writeDisposition',
  'createDisposition',
  'schema',
  'autodetect',
];

/** Check a load configuration when the job is submitted. */
export function checkLoadConfig(config: Record<string, unknown>): LoadConfig {
  onlyFields(config, LOAD_FIELDS, 'configuration.load');
  const load = config as unknown as LoadConfig;
  if (!Array.isArray(load.sourceUris) || load.sourceUris.length === 0)
    throw new HttpError(400, 'invalid', 'configuration.load.sourceUris is required');
  for (const uri of load.sourceUris)
    if (!uri.startsWith('gs://')) throw new NotImplementedError(`load source ${uri} (only gs:// URIs)`);
  if (!load.destinationTable?.datasetId || !load.destinationTable.tableId)
    throw new HttpError(400, 'invalid', 'configuration.load.destinationTable is required');
  const format = load.sourceFormat ?? 'CSV';
  if (format !== 'PARQUET' && format !== 'NEWLINE_DELIMITED_JSON')
    throw new NotImplementedError(`load sourceFormat ${format} (PARQUET and NEWLINE_DELIMITED_JSON only)`);
  if (format === 'NEWLINE_DELIMITED_JSON' && !load.schema && !load.autodetect)
    throw new HttpError(400, 'invalid', 'a NEWLINE_DELIMITED_JSON load needs a schema or autodetect');
  if (format === 'PARQUET' && load.schema)
    throw new NotImplementedError('a schema for a PARQUET load (it is self-describing)');
  return load;
}

/**
 * A load job: the `gs://` objects (one `*` wildcard allowed) are read from the GCS stand-in's
 * storage into temporary files that DuckDB reads (`read_parquet`, or `read_json` with the given
 * schema), then written like query results: columns in BigQuery's types, matched by name when
 * appending; WRITE_APPEND by default.
 */
export async function runLoad(
  engine: BigQueryEngine,
  connection: DuckDBConnection,
  storage: GcsStorage | undefined,
  config: LoadConfig,
): Promise<LoadOutcome> {
  if (!storage) throw new NotImplementedError('load jobs without a GCS stand-in to read from');
  const objects = config.sourceUris.flatMap((uri) => {
    const found = storage.resolveUri(uri);
    if (found.length === 0) throw new HttpError(404, 'notFound', `Not found: URI ${uri}`);
    return found;
  });
  const dir = await mkdtemp(join(tmpdir(), 'bq-standin-load-'));
  try {
    const files: string[] = [];
    for (const [index, object] of objects.entries()) {
      const path = join(dir, `${index}`);
      await writeFile(path, object.data);
      files.push(quoteString(path));
    }
    let source: string;
    if (config.sourceFormat === 'PARQUET') {
      source = await parquetSource(connection, `read_parquet([${files.join(', ')}])`);
    } else if (config.schema) {
      const columns = config.schema.fields.map(
        (field) => `${quoteString(field.name)}: ${quoteString(canonicalTypeOf(field))}`,
      );
      source = `select * from read_json([${files.join(', ')}], format = 'newline_delimited', columns = {${columns.join(', ')}})`;
    } else {
      source = `select * from read_json_auto([${files.join(', ')}], format = 'newline_delimited')`;
    }
    const outputRows = await writeToTable(engine, connection, source, config.destinationTable, {
      ...(config.writeDisposition ? { writeDisposition: config.writeDisposition } : {}),
      ...(config.createDisposition ? { createDisposition: config.createDisposition } : {}),
      defaultWrite: 'WRITE_APPEND',
      ...(config.schema ? { schema: config.schema.fields } : {}),
    });
    return {
      inputFiles: objects.length,
      inputFileBytes: objects.reduce((sum, object) => sum + object.data.length, 0),
      outputRows,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The SELECT of a Parquet load: a DECIMAL column is NUMERIC in BigQuery when it fits (at most 29
 * integer digits and 9 decimals), so it is read as DECIMAL(38, 9); wider ones are BIGNUMERIC (501).
 */
async function parquetSource(connection: DuckDBConnection, reader: string): Promise<string> {
  const prepared = await connection.prepare(`select * from ${reader}`);
  const columns: string[] = [];
  for (let index = 0; index < prepared.columnCount; index += 1) {
    const name = quoteIdentifier(prepared.columnName(index));
    const type = prepared.columnType(index);
    if (type.typeId !== DuckDBTypeId.DECIMAL) {
      columns.push(name);
      continue;
    }
    const { width, scale } = type as DuckDBDecimalType;
    if (scale > 9 || width - scale > 29)
      throw new NotImplementedError(`BIGNUMERIC columns (${name} is ${type.toString()})`);
    columns.push(`cast(${name} as decimal(38, 9)) as ${name}`);
  }
  prepared.destroySync();
  return `select ${columns.join(', ')} from ${reader}`;
}
