import type { DuckDBConnection } from '@duckdb/node-api';
import { HttpError, NotImplementedError } from '../http/server.js';
import { checkTableId, qualified, type BigQueryEngine, type TableReference } from './engine.js';
import { canonicalTypeOf, quoteIdentifier, type TableField } from './schema.js';

/** How rows reach a table: `writeDisposition` and `createDisposition` of a query or load job. */
export interface WriteOptions {
  writeDisposition?: string;
  createDisposition?: string;
  /** The disposition when none is given: WRITE_EMPTY for queries, WRITE_APPEND for loads. */
  defaultWrite: 'WRITE_EMPTY' | 'WRITE_APPEND';
  /** Inside a script's transaction: its statements commit or roll back with it. */
  inTransaction?: boolean;
  /** The schema a load gives: a table it creates has exactly these columns (REQUIRED as NOT NULL). */
  schema?: readonly TableField[];
}

/** CREATE TABLE from a BigQuery schema. */
function createFromSchema(target: string, schema: readonly TableField[], replace: boolean): string {
  const columns = schema.map(
    (field) =>
      `${quoteIdentifier(field.name)} ${canonicalTypeOf(field)}${field.mode === 'REQUIRED' ? ' not null' : ''}`,
  );
  return `create ${replace ? 'or replace ' : ''}table ${target} (${columns.join(', ')})`;
}

const STAGE_LOCATION = { database: 'temp', schema: 'main', table: '__standin_stage' };
const STAGE = qualified(STAGE_LOCATION);

/** `table$YYYYMMDD`: the table and the day partition it names. */
function splitDecorator(tableId: string): { tableId: string; partition?: string } {
  const at = tableId.indexOf('$');
  if (at < 0) return { tableId: checkTableId(tableId) };
  const partition = tableId.slice(at + 1);
  if (!/^\d{8}$/.test(partition))
    throw new NotImplementedError(`partition decorator $${partition} (only daily $YYYYMMDD)`);
  return {
    tableId: checkTableId(tableId.slice(0, at)),
    partition: `${partition.slice(0, 4)}-${partition.slice(4, 6)}-${partition.slice(6)}`,
  };
}

/**
 * Write the rows of `source` (a SELECT, or DuckDB table function such as read_parquet) to a
 * destination table as BigQuery does: staged first (typed and named as BigQuery would), then, in
 * one transaction, created, appended to (by column name), truncated and replaced, or (with a
 * `$YYYYMMDD` decorator on a day-partitioned table) replacing that partition only, every row of
 * which must fall in it. Resolves to the rows written.
 */
export async function writeToTable(
  engine: BigQueryEngine,
  connection: DuckDBConnection,
  source: string,
  destination: TableReference,
  options: WriteOptions,
): Promise<number> {
  const write = options.writeDisposition ?? options.defaultWrite;
  const create = options.createDisposition ?? 'CREATE_IF_NEEDED';
  if (!['WRITE_EMPTY', 'WRITE_APPEND', 'WRITE_TRUNCATE'].includes(write))
    throw new NotImplementedError(`writeDisposition ${write}`);
  if (!['CREATE_IF_NEEDED', 'CREATE_NEVER'].includes(create))
    throw new NotImplementedError(`createDisposition ${create}`);
  const { tableId, partition } = splitDecorator(destination.tableId);
  const { datasetId } = destination;
  await engine.requireDataset(connection, datasetId);
  const target = engine.tableName(datasetId, tableId);
  const key = `${datasetId}.${tableId}`;
  const exists = (await engine.tableType(connection, datasetId, tableId)) !== undefined;
  if (!exists && create === 'CREATE_NEVER')
    throw new HttpError(404, 'notFound', `Not found: Table ${engine.projectId}:${key}`);

  await engine.checkColumnNames(connection, source);
  const required = (options.schema ?? []).filter((field) => field.mode === 'REQUIRED').map((field) => field.name);
  if (!exists && partition === undefined && !options.schema) {
    // A new table: written in place (a failure drops it, as a failed job leaves no table).
    try {
      await connection.run(`create table ${target} as ${source}`);
      await engine.canonicalise(connection, engine.locate(datasetId, tableId));
    } catch (error) {
      await connection.run(`drop table if exists ${target}`).catch(() => undefined);
      throw error;
    }
    const now = Date.now();
    engine.tables.set(key, { ...(engine.tables.get(key) ?? {}), creationTime: now, lastModifiedTime: now });
    return Number((await connection.runAndReadAll(`select count(*) from ${target}`)).getRows()[0]![0]);
  }

  await connection.run(`create temp table ${STAGE} as ${source}`);
  try {
    await engine.canonicalise(connection, STAGE_LOCATION);
    const rows = Number((await connection.runAndReadAll(`select count(*) from ${STAGE}`)).getRows()[0]![0]);
    await checkRequired(connection, STAGE, required);
    const own = !options.inTransaction;
    if (own) await connection.run('begin transaction');
    try {
      if (partition !== undefined) {
        if (!exists) throw new HttpError(404, 'notFound', `Not found: Table ${engine.projectId}:${key}`);
        const field = engine.tables.get(key)?.timePartitioning?.field;
        if (!field)
          throw new NotImplementedError(`partition decorators on ${key}, which is not partitioned by a column`);
        const column = quoteIdentifier(field);
        const stray = await connection.runAndReadAll(
          `select count(*) from ${STAGE} where cast(${column} as date) is distinct from date '${partition}'`,
        );
        if (Number(stray.getRows()[0]![0]) > 0)
          throw new HttpError(
            400,
            'invalid',
            `Some rows belong to different partitions rather than destination partition ${partition.replaceAll('-', '')}`,
          );
        if (write === 'WRITE_EMPTY')
          await requireEmpty(connection, target, key, `cast(${column} as date) = date '${partition}'`);
        if (write === 'WRITE_TRUNCATE')
          await connection.run(`delete from ${target} where cast(${column} as date) = date '${partition}'`);
        await connection.run(`insert into ${target} by name select * from ${STAGE}`);
      } else if (options.schema && (!exists || write === 'WRITE_TRUNCATE')) {
        await connection.run(createFromSchema(target, options.schema, exists));
        await connection.run(`insert into ${target} by name select * from ${STAGE}`);
      } else if (write === 'WRITE_TRUNCATE') {
        await connection.run(`create or replace table ${target} as select * from ${STAGE}`);
      } else {
        if (write === 'WRITE_EMPTY') await requireEmpty(connection, target, key, 'true');
        await connection.run(`insert into ${target} by name select * from ${STAGE}`);
      }
      if (own) await connection.run('commit');
    } catch (error) {
      if (own) await connection.run('rollback');
      throw error;
    }
    const now = Date.now();
    const info = engine.tables.get(key);
    engine.tables.set(key, { ...(info ?? { creationTime: now }), lastModifiedTime: now });
    return rows;
  } finally {
    // In an aborted transaction this fails, and the rollback that follows removes the stage.
    await connection.run(`drop table if exists ${STAGE}`).catch(() => undefined);
  }
}

async function requireEmpty(connection: DuckDBConnection, table: string, key: string, where: string): Promise<void> {
  const reader = await connection.runAndReadAll(`select 1 from ${table} where ${where} limit 1`);
  if (reader.currentRowCount > 0)
    throw new HttpError(409, 'duplicate', `Already Exists: Table ${key} is not empty (WRITE_EMPTY)`);
}

/** REQUIRED columns of a load schema may hold no NULL. */
async function checkRequired(
  connection: DuckDBConnection,
  table: string,
  required: readonly string[] = [],
): Promise<void> {
  for (const name of required) {
    const nulls = await connection.runAndReadAll(
      `select 1 from ${table} where ${quoteIdentifier(name)} is null limit 1`,
    );
    if (nulls.currentRowCount > 0) throw new HttpError(400, 'invalid', `Required field ${name} cannot be null`);
  }
}
