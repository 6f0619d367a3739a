/**
 * The warehouse port on BigQuery (`@google-cloud/bigquery`): every statement is a query job with
 * typed parameters and the session's labels, read back page by page in the REST encoding and
 * decoded in one place (`bigquery-values.ts`).
 *
 * SQL. The services' SQL is written in the subset that DuckDB and GoogleSQL both accept, so the
 * same text runs locally and on BigQuery with no translation at run time: unquoted lowercase
 * names qualified by schema (`warehouse.fct_sales`: a BigQuery dataset of the job's project, a
 * DuckDB schema), `?` positional parameters (the engines name parameters differently), `cast(x as string|int64|date|bool)`,
 * `countif`, `if`, `group by all`, `x in (select * from unnest(?))` for a list. Casts to DOUBLE or
 * FLOAT64, `::`, `filter (where ...)`, double-quoted identifiers and engine catalogs are not
 * in the subset.
 *
 * Transactions. BigQuery runs a multi-statement transaction inside one script job (or across
 * the jobs of a session). `transaction(work)` collects the statements `work` executes and sends
 * them as ONE script, `BEGIN TRANSACTION; ...; COMMIT TRANSACTION;`, each statement's parameters
 * renamed apart: BigQuery commits all of it or, on any failure, none. No session is kept open
 * across the network while the caller computes, so a crashed process leaves no transaction
 * holding the tables. The price: a statement inside `work` cannot read (`tx.query` is refused;
 * read before the transaction). A partition replace (delete the dates, insert their rows) is
 * therefore one script: atomic, and idempotent when run twice. MERGE would need the new rows in a
 * table first; a load job with a `$YYYYMMDD` decorator and WRITE_TRUNCATE replaces one day per
 * job, so several days would not be replaced together.
 *
 * Read-only. A read session's warehouse sends only single queries (`select`/`with`); anything else
 * is refused before a job exists. Each query reads BigQuery's current snapshot: unlike DuckDB's
 * read transaction, two queries of one session may see two states if a writer commits between
 * them.
 */
import type { BigQuery, Job, Query } from '@google-cloud/bigquery';
import {
  PermanentError,
  type QueryParams,
  type AppendColumn,
  type AppendTarget,
  type Warehouse,
  type WarehouseColumn,
  type WarehouseColumns,
  type WarehouseDialect,
  type WarehouseNumbers,
  type WarehouseRow,
  type WarehouseSchema,
  type WarehouseTransaction,
  type WarehouseValue,
} from '@mlops/kernel';
import { warehouseErrorOf } from './bigquery-jobs.js';
import { isSingleQuery, prefixParameters } from './bigquery-sql-text.js';
import {
  ColumnsBuilder,
  encodeParams,
  rowsOfColumns,
  type BigQueryField,
  type BigQueryRow,
} from './bigquery-values.js';

/** How the warehouse reaches BigQuery. */
export interface BigQueryWarehouseOptions {
  client: BigQuery;
  /** Where jobs run (the datasets' location, e.g. `EU`). */
  location: string;
  /** Labels on every job (already sanitised). */
  labels: Record<string, string>;
  readOnly: boolean;
  /** Rows per result page (default: BigQuery's own, about 10 MB a page). */
  pageRows?: number;
}

interface ResultsPage {
  jobComplete?: boolean;
  schema?: { fields?: BigQueryField[] };
  rows?: BigQueryRow[];
  pageToken?: string;
}

function readInTransaction(): PermanentError {
  return new PermanentError(
    'WAREHOUSE.READ_IN_TRANSACTION',
    'a BigQuery transaction runs as one script job: read before the transaction, not inside it',
  );
}

/** A numeric result as Float64Arrays (NULL reads as NaN); any other value is refused. */
function numbersOfColumns(result: WarehouseColumns): WarehouseNumbers {
  const columns = result.columns.map((values, index) => {
    const numbers = new Float64Array(result.rowCount);
    values.forEach((value, row) => {
      if (value === null) numbers[row] = Number.NaN;
      else if (typeof value === 'number') numbers[row] = value;
      else
        throw new PermanentError(
          'WAREHOUSE.NOT_NUMERIC',
          `queryNumbers needs FLOAT64 columns; ${result.names[index]} holds ${typeof value} values (cast it in the query)`,
        );
    });
    return numbers;
  });
  return { names: result.names, columns, rowCount: result.rowCount };
}

/**
 * An append as one parameterised INSERT: each column an ARRAY<FLOAT64> or ARRAY<STRING> parameter,
 * read by position (the table's columns in order), so no value is written into the SQL text.
 * BigQuery parameters cannot hold NaN in an array, so a NaN is refused. A temporary target is a
 * temporary table of the transaction's script, named bare, so it exists only inside a transaction.
 */
function appendStatement(
  project: string | undefined,
  target: AppendTarget,
  columns: readonly AppendColumn[],
  inTransaction: boolean,
): PendingStatement | undefined {
  const rows = columns[0]?.length ?? 0;
  if (columns.some((column) => column.length !== rows))
    throw new PermanentError('WAREHOUSE.BAD_APPEND', 'an append needs columns of one length');
  const temporary = target.temporary === true || target.catalog === 'temp';
  if (temporary && !inTransaction)
    throw new PermanentError(
      'WAREHOUSE.BAD_APPEND',
      `the temporary table ${target.table} exists on BigQuery only inside a transaction's script; append to it in the transaction`,
    );
  if (!temporary && target.schema === undefined)
    throw new PermanentError(
      'WAREHOUSE.BAD_APPEND',
      `an append on BigQuery needs a dataset table or a temporary one (got ${target.table})`,
    );
  if (rows === 0) return undefined;
  const params: Record<string, WarehouseValue> = { n: rows };
  const values = columns.map((column, index) => {
    if (column instanceof Float64Array) {
      if (column.some(Number.isNaN))
        throw new PermanentError(
          'WAREHOUSE.BAD_APPEND',
          `append column ${index} holds NaN, which BigQuery arrays refuse`,
        );
      params[`c${index}`] = Array.from(column);
      return `@c${index}[offset(i)]`;
    }
    params[`c${index}`] = [...column];
    // Date-shaped strings travel as DATEs (bigquery-values.ts): the cast gives back their text.
    return `cast(@c${index}[offset(i)] as string)`;
  });
  const name = temporary ? target.table : [project, target.schema, target.table].filter(Boolean).join('.');
  const table = `\`${name.replaceAll('`', '\\`')}\``;
  return {
    sql: `insert into ${table} select ${values.join(', ')} from unnest(generate_array(0, @n - 1)) as i`,
    params,
  };
}

/** A statement waiting for its transaction's script. */
interface PendingStatement {
  sql: string;
  params: QueryParams | undefined;
}

/** GoogleSQL's spelling of what the common SQL subset cannot say (see the port): no row id. */
export const BIGQUERY_DIALECT: WarehouseDialect = { float64: 'float64', timestamp: 'timestamp', rowId: undefined };

/** The warehouse of one BigQuery session (see the module comment). */
export class BigQueryWarehouse implements Warehouse {
  private ended: string | undefined;
  readonly dialect = BIGQUERY_DIALECT;

  constructor(private readonly options: BigQueryWarehouseOptions) {}

  get readOnly(): boolean {
    return this.options.readOnly;
  }

  /** @internal Refuse further use (`reason` is said then). */
  end(reason: string): void {
    this.ended = reason;
  }

  private live(): void {
    if (this.ended !== undefined) throw new PermanentError('WAREHOUSE.SESSION_ENDED', this.ended);
  }

  private guard(sql: string): void {
    this.live();
    if (this.readOnly && !isSingleQuery(sql))
      throw new PermanentError(
        'WAREHOUSE.READ_ONLY',
        'this warehouse session is read-only; only a single select or with query is sent to BigQuery',
      );
  }

  /** Run one job and read every page of its result. */
  private async run(sql: string, params: QueryParams | undefined, what: string): Promise<WarehouseColumns> {
    const encoded = encodeParams(params);
    const request: Query = {
      query: sql,
      useLegacySql: false,
      location: this.options.location,
      labels: this.options.labels,
      ...(encoded ? { parameterMode: encoded.parameterMode, queryParameters: encoded.queryParameters } : {}),
    };
    let job: Job;
    try {
      [job] = await this.options.client.createQueryJob(request);
    } catch (error) {
      throw warehouseErrorOf(error, what);
    }
    // Pages are read from jobs.getQueryResults directly: the REST encoding is decoded here, once.
    let builder: ColumnsBuilder | undefined;
    let pageToken: string | undefined;
    try {
      for (;;) {
        const response = await this.page(job, pageToken);
        if (response.jobComplete !== false) {
          builder ??= new ColumnsBuilder(response.schema?.fields ?? []);
          builder.add(response.rows ?? []);
          if (!response.pageToken) break;
          pageToken = response.pageToken;
        }
      }
    } catch (error) {
      throw warehouseErrorOf(error, what);
    }
    return (builder ?? new ColumnsBuilder([])).result();
  }

  /** One page of a job's results (BigQuery waits up to 10 s for an unfinished job, then says so). */
  private page(job: Job, pageToken: string | undefined): Promise<ResultsPage> {
    const qs = {
      location: this.options.location,
      'formatOptions.useInt64Timestamp': true,
      ...(pageToken ? { pageToken } : {}),
      ...(this.options.pageRows ? { maxResults: this.options.pageRows } : {}),
    };
    return new Promise((resolve, reject) => {
      this.options.client.request({ uri: `/queries/${job.id}`, qs }, (error: Error | null, response?: unknown) =>
        error ? reject(error) : resolve(response as ResultsPage),
      );
    });
  }

  async execute(sql: string, params?: QueryParams): Promise<void> {
    this.guard(sql);
    await this.run(sql, params, 'statement');
  }

  async query<T extends WarehouseRow = WarehouseRow>(sql: string, params?: QueryParams): Promise<T[]> {
    this.guard(sql);
    return rowsOfColumns<T>(await this.run(sql, params, 'query'));
  }

  async queryColumns(sql: string, params?: QueryParams): Promise<WarehouseColumns> {
    this.guard(sql);
    return this.run(sql, params, 'query');
  }

  async queryNumbers(sql: string, params?: QueryParams): Promise<WarehouseNumbers> {
    return numbersOfColumns(await this.queryColumns(sql, params));
  }

  async appendNumbers(target: AppendTarget, columns: readonly Float64Array[]): Promise<void> {
    await this.appendColumns(target, columns);
  }

  async appendColumns(target: AppendTarget, columns: readonly AppendColumn[]): Promise<void> {
    const statement = appendStatement(this.options.client.projectId, target, columns, false);
    if (statement) await this.execute(statement.sql, statement.params);
  }

  async describeSchema(schema: string): Promise<WarehouseSchema> {
    this.live();
    const client = this.options.client;
    const project = client.projectId;
    const tables = new Map<string, WarehouseColumn[]>();
    try {
      const [found] = await client.dataset(schema).getTables();
      await Promise.all(
        found.map(async (table) => {
          const [metadata] = await table.getMetadata();
          const fields = ((metadata as { schema?: { fields?: BigQueryField[] } }).schema?.fields ?? []).map(
            (field) => ({
              name: field.name,
              type: field.mode === 'REPEATED' ? `ARRAY<${field.type}>` : field.type,
            }),
          );
          tables.set(String(table.id), fields);
        }),
      );
    } catch (error) {
      const mapped = warehouseErrorOf(error, `tables of dataset ${schema}`);
      if (mapped.code !== 'WAREHOUSE.NOT_FOUND') throw mapped;
    }
    const sorted = new Map([...tables].sort(([a], [b]) => a.localeCompare(b)));
    return { schema, table: (name) => `\`${`${project}.${schema}.${name}`.replaceAll('`', '\\`')}\``, tables: sorted };
  }

  async transaction<T>(work: (tx: WarehouseTransaction) => Promise<T>): Promise<T> {
    this.live();
    if (this.readOnly)
      throw new PermanentError('WAREHOUSE.READ_ONLY', 'a read-only warehouse cannot open a write transaction');
    const pending: PendingStatement[] = [];
    let open = true;
    const tx: WarehouseTransaction = {
      execute: async (sql, params) => {
        if (!open) throw new PermanentError('WAREHOUSE.SESSION_ENDED', 'the transaction has ended');
        pending.push({ sql, params });
      },
      query: async () => {
        throw readInTransaction();
      },
      queryNumbers: async () => {
        throw readInTransaction();
      },
      appendNumbers: (target, columns) => tx.appendColumns(target, columns),
      appendColumns: async (target, columns) => {
        if (!open) throw new PermanentError('WAREHOUSE.SESSION_ENDED', 'the transaction has ended');
        const statement = appendStatement(this.options.client.projectId, target, columns, true);
        if (statement) pending.push(statement);
      },
    };
    let result: T;
    try {
      result = await work(tx);
    } finally {
      open = false;
    }
    if (pending.length > 0) {
      const script = transactionScript(pending);
      await this.run(script.sql, script.params, `transaction of ${pending.length} statement(s)`);
    }
    return result;
  }

  async close(): Promise<void> {
    this.end('the warehouse is closed');
  }
}

/** The statements as one all-or-nothing script, their parameters renamed `t<i>_...` apart. */
export function transactionScript(statements: readonly PendingStatement[]): {
  sql: string;
  params: Record<string, WarehouseValue> | undefined;
} {
  const params: Record<string, WarehouseValue> = {};
  const body = statements.map((statement, index) => {
    const prefix = `t${index}_`;
    const renamed = prefixParameters(statement.sql.trim().replace(/;\s*$/, ''), prefix);
    const given = statement.params;
    if (Array.isArray(given)) {
      if (given.length !== renamed.positional)
        throw new PermanentError(
          'WAREHOUSE.PARAMETER_COUNT',
          `statement ${index + 1} of the transaction has ${renamed.positional} ? placeholders but ${given.length} parameters`,
        );
      given.forEach((value, position) => {
        params[`${prefix}${position}`] = value;
      });
    } else if (given) {
      for (const [name, value] of Object.entries(given)) params[`${prefix}${name}`] = value;
    }
    return `${renamed.sql};`;
  });
  const sql = ['BEGIN TRANSACTION;', ...body, 'COMMIT TRANSACTION;'].join('\n');
  return { sql, params: Object.keys(params).length > 0 ? params : undefined };
}
