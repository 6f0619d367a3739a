import { StatementType, type DuckDBConnection } from '@duckdb/node-api';
import { translateBigQueryToDuckDb } from '@mlops/adapters-local';
import { HttpError, NotImplementedError } from '../http/server.js';
import { writeToTable } from './destination.js';
import { RESULTS_DATASET, checkDatasetId, type BigQueryEngine, type TableReference } from './engine.js';
import { bigQueryError } from './errors.js';
import { parameterBinder, type QueryParameter } from './parameters.js';
import { quoteIdentifier } from './schema.js';

/** The parts of `configuration.query` the stand-in runs. */
export interface QueryConfig {
  query: string;
  parameterMode?: string;
  queryParameters?: QueryParameter[];
  destinationTable?: TableReference;
  writeDisposition?: string;
  createDisposition?: string;
  defaultDataset?: { datasetId: string; projectId?: string };
}

/** What a query job did. */
export interface QueryOutcome {
  statementType: string;
  /** The table holding the rows (the destination, or an anonymous one), when the job returns rows. */
  results?: TableReference;
  numDmlAffectedRows?: number;
}

/**
 * Translate a query (with its parameters bound as typed literals) to DuckDB statements. Runs when
 * the job is submitted, so SQL the translation cannot carry is refused (501) before a job exists.
 */
export function translateQuery(config: QueryConfig): string[] {
  try {
    return translateBigQueryToDuckDb(config.query, {
      parameter: parameterBinder(config.parameterMode, config.queryParameters),
    });
  } catch (error) {
    throw bigQueryError(error);
  }
}

/** BigQuery's `statementType` of a DuckDB statement; 501 for statements BigQuery SQL cannot mean. */
function statementTypeOf(sql: string, type: StatementType): string {
  const text = sql.trim().toLowerCase();
  switch (type) {
    case StatementType.SELECT:
      return 'SELECT';
    case StatementType.INSERT:
      return 'INSERT';
    case StatementType.UPDATE:
      return 'UPDATE';
    case StatementType.DELETE:
      return text.startsWith('truncate') ? 'TRUNCATE_TABLE' : 'DELETE';
    case StatementType.MERGE_INTO:
      return 'MERGE';
    case StatementType.CREATE: {
      const match = /^create\s+(or\s+replace\s+)?(temp\s+|temporary\s+)?(table|view|schema)\b/.exec(text);
      if (!match) break;
      if (match[3] === 'table')
        return /\bas\s*\(?\s*(select|with|from)\b/.test(text) ? 'CREATE_TABLE_AS_SELECT' : 'CREATE_TABLE';
      return match[3] === 'view' ? 'CREATE_VIEW' : 'CREATE_SCHEMA';
    }
    case StatementType.DROP: {
      const match = /^drop\s+(table|view|schema)\b/.exec(text);
      if (match) return `DROP_${match[1]!.toUpperCase()}`;
      break;
    }
    case StatementType.ALTER:
      if (/^alter\s+table\b/.test(text)) return 'ALTER_TABLE';
      break;
    case StatementType.TRANSACTION:
      if (/^(begin|start)\b/.test(text)) return 'BEGIN_TRANSACTION';
      if (/^commit\b/.test(text)) return 'COMMIT_TRANSACTION';
      if (/^rollback\b/.test(text)) return 'ROLLBACK_TRANSACTION';
      break;
  }
  throw new NotImplementedError(
    `the statement "${sql.slice(0, 60)}" on DuckDB (statement type ${StatementType[type]})`,
  );
}

// BigQuery scripting (variables, control flow, procedures): not run here. SET would even reach
// DuckDB's own settings.
const PROCEDURAL =
  /^\s*(declare|set|if|elseif|else|end|while|loop|repeat|for|call|execute|raise|return|break|continue|leave|iterate|exception)\b/i;

const IN_TRANSACTION = new Set([
  'SELECT',
  'INSERT',
  'UPDATE',
  'DELETE',
  'MERGE',
  'TRUNCATE_TABLE',
  'COMMIT_TRANSACTION',
  'ROLLBACK_TRANSACTION',
]);

// The table a DML or DDL statement changes, in translated (quoted, catalog-qualified) SQL.
const TARGET =
  /^\s*(?:insert\s+(?:or\s+\w+\s+)?into|delete\s+from|update|merge\s+into|truncate(?:\s+table)?|create\s+(?:or\s+replace\s+)?table(?:\s+if\s+not\s+exists)?|alter\s+table)\s+((?:"(?:[^"]|"")*"|\w+)(?:\s*\.\s*(?:"(?:[^"]|"")*"|\w+))*)/i;

/** `dataset.table` of the table a statement changes (as BigQuery bumps its lastModifiedTime), if any. */
function changedTable(sql: string): string | undefined {
  const match = TARGET.exec(sql);
  if (!match) return undefined;
  const parts = [...match[1]!.matchAll(/"((?:[^"]|"")*)"|(\w+)/g)].map((part) =>
    (part[1] ?? part[2]!).replaceAll('""', '"'),
  );
  return parts.length >= 2 ? `${parts[parts.length - 2]}.${parts[parts.length - 1]}` : undefined;
}

/** DuckDB's spelling of a transaction statement. */
function transactionSql(type: string): string {
  return type === 'BEGIN_TRANSACTION' ? 'begin transaction' : type === 'COMMIT_TRANSACTION' ? 'commit' : 'rollback';
}

/**
 * Run a query job's statements on one connection. One SELECT writes its rows to the destination
 * table or to an anonymous one (as BigQuery does); DML and DDL report what they changed. More
 * than one statement is a script: each statement commits on its own unless inside
 * `BEGIN TRANSACTION ... COMMIT TRANSACTION`, which is all or nothing (a failure rolls it back,
 * as does a script that ends with it open), and only DML and temporary tables may be used in it.
 * The rows of a script are those of its last statement, if it is a SELECT.
 */
export async function runQuery(
  engine: BigQueryEngine,
  connection: DuckDBConnection,
  jobId: string,
  config: QueryConfig,
  statements: readonly string[],
): Promise<QueryOutcome> {
  if (config.defaultDataset) {
    const dataset = checkDatasetId(config.defaultDataset.datasetId);
    await engine.requireDataset(connection, dataset);
    await connection.run(`use ${engine.catalog}.${quoteIdentifier(dataset)}`);
  }
  const script = statements.length > 1;
  if (script && config.destinationTable)
    throw new HttpError(400, 'invalid', 'configuration.query.destinationTable cannot be set for scripts');
  const anonymous: TableReference = {
    projectId: engine.projectId,
    datasetId: RESULTS_DATASET,
    tableId: `anon_${jobId}`,
  };
  let inTransaction = false;
  let outcome: QueryOutcome = { statementType: 'SCRIPT' };
  const changed = new Set<string>();
  try {
    for (const [index, raw] of statements.entries()) {
      const sql = engine.bind(raw);
      const procedural = PROCEDURAL.exec(sql);
      if (procedural) throw new NotImplementedError(`scripting statements (${procedural[1]!.toUpperCase()})`);
      const prepared = await connection.prepare(sql);
      const type = statementTypeOf(sql, prepared.statementType);
      const last = index === statements.length - 1;
      if (
        inTransaction &&
        !IN_TRANSACTION.has(type) &&
        !/^(create|drop)\s+(or\s+replace\s+)?(temp|temporary)\b/i.test(sql)
      )
        throw new HttpError(400, 'invalidQuery', `${type} is not supported inside a multi-statement transaction`);
      if (type.endsWith('_TRANSACTION')) {
        prepared.destroySync();
        if (type === 'BEGIN_TRANSACTION' && inTransaction)
          throw new HttpError(400, 'invalidQuery', 'Nested transactions are not supported');
        if (type !== 'BEGIN_TRANSACTION' && !inTransaction)
          throw new HttpError(400, 'invalidQuery', `${type.replace('_', ' ')} without BEGIN TRANSACTION`);
        await connection.run(transactionSql(type));
        inTransaction = type === 'BEGIN_TRANSACTION';
        outcome = { statementType: script ? 'SCRIPT' : type };
        continue;
      }
      if (type === 'SELECT') {
        prepared.destroySync();
        if (!last) {
          await connection.run(sql); // an intermediate result nobody reads
          continue;
        }
        const destination = config.destinationTable ?? anonymous;
        await writeToTable(engine, connection, sql, destination, {
          ...(config.destinationTable
            ? {
                ...(config.writeDisposition ? { writeDisposition: config.writeDisposition } : {}),
                ...(config.createDisposition ? { createDisposition: config.createDisposition } : {}),
              }
            : { writeDisposition: 'WRITE_TRUNCATE' }),
          defaultWrite: 'WRITE_EMPTY',
          inTransaction,
        });
        outcome = {
          statementType: script ? 'SCRIPT' : 'SELECT',
          results: { ...destination, tableId: destination.tableId.replace(/\$.*$/, '') },
        };
        continue;
      }
      if (config.destinationTable)
        throw new HttpError(400, 'invalid', `Cannot set destination table in jobs with ${type} statements`);
      const result = await prepared.run();
      prepared.destroySync();
      const table = changedTable(sql);
      if (table) changed.add(table);
      const dml = ['INSERT', 'UPDATE', 'DELETE', 'MERGE'].includes(type);
      outcome = {
        statementType: script ? 'SCRIPT' : type,
        ...(dml && !script ? { numDmlAffectedRows: Number(result.rowsChanged) } : {}),
      };
    }
    if (inTransaction)
      throw new HttpError(400, 'invalidQuery', 'Transaction was not committed before the script ended');
    // Changed tables get a new lastModifiedTime, as on BigQuery (rolled-back work changes nothing).
    const now = Date.now();
    for (const key of changed) {
      const info = engine.tables.get(key);
      engine.tables.set(key, {
        creationTime: now,
        ...(info ?? {}),
        lastModifiedTime: Math.max(now, (info?.lastModifiedTime ?? 0) + 1),
      });
    }
    return outcome;
  } catch (error) {
    if (inTransaction) await connection.run('rollback').catch(() => undefined);
    throw bigQueryError(error);
  }
}
