/**
 * The local transform runner: the Dataform project compiled by the real Dataform CLI, each action's
 * BigQuery SQL translated to DuckDB, executed on the warehouse in dependency order with Dataform's
 * semantics:
 *
 * - bronze sources (operations whose target is a source of `includes/bronze_sources.json`) become
 *   views over the lake's files instead of BigQuery external tables;
 * - `table`: pre-operations, `create or replace table ... as <query>`, post-operations;
 * - `view`: `create or replace view ... as <query>`;
 * - `incremental`: when the table exists, the incremental pre-operations (the partition deletes),
 *   `insert into t (<its columns>) select ... from (<incremental query>)` and post-operations; when
 *   absent, `create table ... as <query>`; either way in ONE transaction, so a run date's partitions
 *   are replaced atomically;
 * - `operations`: the statements as written;
 * - assertions: a view in the assertion schema over the assertion query, then its row count.
 *
 * A run is one write session and ONE transaction: readers see the warehouse before the run or
 * after it, never in between, and a crash mid-run leaves nothing of it (DuckDB drops an
 * uncommitted transaction when it opens the file again). A failing action stops the run with
 * `DATAFORM.ACTION_FAILED` naming the action, its file and the SQL, and nothing of the run stays.
 * A write conflict is `DATAFORM.WAREHOUSE_BUSY`, transient, so the bus retries; exceeding DuckDB's
 * memory limit is `DATAFORM.OUT_OF_MEMORY`, permanent (it names the settings to change). The session time
 * zone is pinned to UTC (BigQuery TIMESTAMP semantics).
 */
import {
  TransformError,
  TransformErrors,
  normaliseRunDates,
  type TransformActionResult,
  type TransformActionType,
  type TransformAssertionResult,
  type TransformQuarantineCount,
  type TransformRunRequest,
  type TransformRunResult,
  type TransformRunner,
  type TransformTableCount,
  PlatformError,
  type WarehouseAccess,
  type WarehouseTransaction,
} from '@mlops/kernel';
import { CATALOG_PLACEHOLDER, loadBigQueryTranslator } from './bigquery-to-duckdb.adapter.js';
import { DataformCompiler } from './dataform-compiler.adapter.js';
import { planKey, readPlan, storedPlanText, writePlan } from './duckdb-plan.js';
import { buildPlan, quote, relation, type Plan, type PlannedAction } from './duckdb-transform-plan.js';
import {
  isLargeRun,
  machineThreads,
  runMemoryLimit,
  runThreads,
  sampleFreeCores,
  sizeBytes,
  threadsFollowLoad,
  type FreeCoresSampler,
} from './transform-threads.js';
import {
  emptySourceSql,
  globList,
  partitionGlobs,
  readBronzeSources,
  sourceReaderSql,
  type BronzeSourcesDescription,
} from './lake-sources.js';

/** Options of {@link DuckDbTransformRunner}. */
export interface DuckDbTransformRunnerOptions {
  /** The Dataform project folder. */
  projectDir: string;
  /** Local folder of the lake (holding `bronze/`). */
  lakeRoot: string;
  /** The warehouse: each run is one write session on it. */
  warehouse: WarehouseAccess;
  /** Default Dataform vars (a request's vars override them). */
  vars?: Readonly<Record<string, string>>;
  /** Folder for compiled graphs kept across processes. */
  cacheDir?: string;
  /** A compiler to share (one per project per process); created when absent. */
  compiler?: DataformCompiler;
  /** Called with every statement executed, in order (for the benchmark's raw-engine anchor). */
  onStatement?: (action: string, sql: string) => void;
  /**
   * What the bronze views cover. `run-dates` (default): the partitions of the run's dates, which is
   * all the project reads (every staging model filters bronze to the run dates), so binding a view
   * does not list and open a year of files on every run. `lake`: every partition, like the BigQuery
   * external tables (for a project that reads bronze history).
   */
  bronzeScope?: 'run-dates' | 'lake';
  /** The generated plan file read when the cache has no plan (default: the repository's; false: none). */
  generatedPlan?: string | false;
  /**
   * DuckDB threads during a run, restored afterwards; 0 keeps the warehouse's. `auto` (the default):
   * for large dates (from {@link LARGE_RUN_FROM_ROWS_PER_DATE} landed rows a date) the cores the
   * machine has free when the run starts, at least one; one thread when the landed rows are not
   * known; the warehouse's setting for small dates. One thread holds about half the memory of two
   * in the features' window and join operators and spends less CPU, so a large run takes a second
   * thread only when a core would otherwise stay idle (see transform-threads.ts).
   */
  threads?: number | 'auto';
  /**
   * DuckDB's memory limit during a run of large dates on one thread; each further thread adds
   * {@link EXTRA_THREAD_MEMORY_SHARE} of it (see {@link runMemoryLimit}). Restored afterwards; never
   * lowers the warehouse's. Absent: unchanged.
   */
  largeRunMemoryLimit?: string;
  /** The machine's free cores now (default: sampled from its CPU times over 100 ms). */
  freeCores?: FreeCoresSampler;
  /** The most threads an `auto` run takes (default: the cores this process may run on). */
  maxThreads?: number;
}

/**
 * A size DuckDB reported (`286.1 MiB`: truncated to a tenth) as one to set it back to: half a tenth
 * more, so setting it again reads back the same and repeated runs never shrink the limit.
 */
export function restorable(reported: string): string {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B)\s*$/i.exec(reported);
  return match ? `${(Number(match[1]) + 0.05).toFixed(2)} ${match[2]}` : reported;
}

const LOCKED =
  /could not set lock|conflicting lock|database is locked|database file is locked|write-write conflict|transaction conflict|conflict on/i;
/** DuckDB's buffer manager hit `memory_limit` (an operator that cannot spill, or the spill itself). */
const OUT_OF_MEMORY = /out of memory/i;

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function classify(error: unknown, action: PlannedAction | undefined, sql: string): TransformError {
  if (error instanceof TransformError) return error;
  const message = messageOf(error);
  if (OUT_OF_MEMORY.test(message))
    return TransformErrors.outOfMemory(message.split('\n')[0]!.slice(0, 300), error, action?.name);
  if (LOCKED.test(message))
    return TransformErrors.warehouseBusy(message.split('\n')[0]!.slice(0, 300), error, action?.name);
  if (!action) return TransformErrors.actionFailed('(setup)', '(runner)', message.slice(0, 2000), sql, error);
  return TransformErrors.actionFailed(
    action.name,
    action.fileName,
    message.split('\n').slice(0, 3).join(' ').slice(0, 2000),
    sql,
    error,
  );
}

/** The DuckDB runner of the Dataform project (local and emulator modes). */
export class DuckDbTransformRunner implements TransformRunner {
  readonly engine = 'duckdb' as const;
  private readonly compiler: DataformCompiler;
  private readonly sources: BronzeSourcesDescription;
  private readonly plans = new Map<string, Plan>();
  /** Templated plans by plan key (see duckdb-plan.ts). */
  private readonly planned = new Map<string, Plan>();

  constructor(private readonly options: DuckDbTransformRunnerOptions) {
    this.compiler =
      options.compiler ??
      new DataformCompiler({
        projectDir: options.projectDir,
        ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}),
      });
    this.sources = readBronzeSources(options.projectDir);
  }

  /** Run the project for the request's run dates. */
  async run(request: TransformRunRequest): Promise<TransformRunResult> {
    const started = performance.now();
    const runDates = normaliseRunDates(request.runDates);
    const vars = { ...(this.options.vars ?? {}), ...(request.vars ?? {}) };
    delete (vars as Record<string, string>).run_dates;
    const { plan, compilation } = await this.planFor(runDates, vars);

    const span = runDates.length === 1 ? runDates[0]! : `${runDates[0]}..${runDates.at(-1)}`;
    // Sampled before the write session, while this runner keeps no core busy.
    const freeCores = threadsFollowLoad(this.options.threads, runDates.length, request.landedRows)
      ? await (this.options.freeCores ?? sampleFreeCores)()
      : Number.NaN;
    const threads = runThreads(
      this.options.threads,
      runDates.length,
      request.landedRows,
      freeCores,
      this.options.maxThreads ?? machineThreads(),
    );
    return this.options.warehouse
      .write(
        (warehouse) =>
          warehouse.transaction(async (tx) => {
            const { catalog, columns } = await this.catalogOf(tx);
            const bind = (sql: string) => plan.bindDates(sql, runDates).split(CATALOG_PLACEHOLDER).join(catalog);
            const pinned = await this.pinThreads(tx, threads);
            const restoreThreads = pinned.restore;
            const large = isLargeRun(runDates.length, request.landedRows);
            const memoryLimit = large ? runMemoryLimit(this.options.largeRunMemoryLimit, pinned.threads) : undefined;
            const restoreMemory = large ? await this.raiseMemory(tx, memoryLimit) : async () => {};
            try {
              await this.setup(tx, plan, bind);
              const actions: TransformActionResult[] = [];
              const assertions: TransformAssertionResult[] = [];
              for (const action of plan.actions) {
                const actionStarted = performance.now();
                if (action.type === 'declaration' && !action.source) {
                  actions.push({ name: action.name, type: action.type, status: 'skipped', durationMs: 0 });
                  continue;
                }
                const failingRows = await this.execute(tx, action, bind, columns.get(action.name) ?? [], runDates);
                if (action.type === 'assertion')
                  assertions.push({ name: action.target.name, passed: failingRows === 0, failingRows });
                actions.push({
                  name: action.name,
                  type: action.type,
                  status: 'succeeded',
                  durationMs: performance.now() - actionStarted,
                });
              }
              const { tables, quarantine } = await this.count(tx, plan, runDates, bind);
              // What the run was given and took, for whoever sizes runs (bench/start sums these).
              request.log?.info(`transform run of ${runDates.length} date(s) on ${pinned.threads} DuckDB thread(s)`, {
                dates: runDates.length,
                landedRows: request.landedRows,
                threads: pinned.threads,
                ...(Number.isFinite(freeCores) ? { freeCores } : {}),
                ...(memoryLimit ? { memoryLimit } : {}),
                durationMs: Math.round(performance.now() - started),
              });
              return {
                engine: 'duckdb' as const,
                runDates,
                tables,
                quarantine,
                assertions,
                actions,
                durationMs: performance.now() - started,
                compilation,
              };
            } finally {
              await restoreMemory();
              await restoreThreads();
            }
          }),
        { purpose: `transformer: build ${span}`, ...(request.log ? { log: request.log } : {}) },
      )
      .catch((error: unknown) => {
        throw error instanceof PlatformError ? error : classify(error, undefined, '(warehouse session)');
      });
  }

  /**
   * Compile and translate the project ahead of the first run (a composition root may call it at
   * start-up so the first event does not pay for it). Touches no warehouse.
   */
  async prepare(vars: Readonly<Record<string, string>> = {}): Promise<{ cached: boolean; durationMs: number }> {
    const started = performance.now();
    const { compilation } = await this.planFor(['1970-01-01'], { ...(this.options.vars ?? {}), ...vars });
    return { cached: compilation.cached, durationMs: performance.now() - started };
  }

  /**
   * The DuckDB statements of every action for these run dates, as the runner would execute them on
   * an empty warehouse (incremental tables created, not inserted into). For inspection and tests.
   */
  async translate(
    runDates: readonly string[],
    vars: Readonly<Record<string, string>> = {},
  ): Promise<{ action: string; fileName: string; type: TransformActionType; statements: string[] }[]> {
    const dates = normaliseRunDates(runDates);
    const { plan } = await this.planFor(dates, { ...(this.options.vars ?? {}), ...vars });
    const bind = (sql: string) => plan.bindDates(sql, dates);
    return plan.actions.map((action) => ({
      action: action.name,
      fileName: action.fileName,
      type: action.type,
      statements: action.statements.map(bind),
    }));
  }

  /**
   * The text of the generated plan file for these vars, compiled and translated afresh (no cache):
   * what `npm run dataform:plan` writes and its drift check compares.
   */
  async planFile(vars: Readonly<Record<string, string>> = {}): Promise<string> {
    const all = { ...(this.options.vars ?? {}), ...vars };
    const key = this.compiler.cacheable ? planKey(this.compiler.cacheKey(all)) : null;
    if (key === null) throw new Error('this project or build cannot have a generated plan (see duckdb-plan.ts)');
    const compilation = await this.compiler.compile(['1970-01-01'], all);
    await loadBigQueryTranslator();
    const plan = compilation.template ? buildPlan(compilation.template, true, this.sources) : undefined;
    if (!plan?.templated) throw new Error('the project binds run dates in a way a plan cannot: it is compiled per run');
    return storedPlanText(key, plan);
  }

  /**
   * The plan for a run: a templated plan kept under its key (this process's, the state folder's
   * cache, the generated file) needs no compilation and no transpiler; otherwise the project is
   * compiled and translated, and a templated result kept.
   */
  private async planFor(
    runDates: readonly string[],
    vars: Readonly<Record<string, string>>,
  ): Promise<{ plan: Plan; compilation: { cached: boolean; durationMs: number } }> {
    const started = performance.now();
    const key = this.compiler.cacheable ? planKey(this.compiler.cacheKey(vars)) : null;
    if (key !== null) {
      const plan = this.planned.get(key) ?? readPlan(key, this.options.cacheDir, this.options.generatedPlan);
      if (plan) {
        this.planned.set(key, plan);
        return { plan, compilation: { cached: true, durationMs: performance.now() - started } };
      }
    }
    const compilation = await this.compiler.compile(runDates, vars);
    await loadBigQueryTranslator();
    const timing = { cached: compilation.cached, durationMs: performance.now() - started };
    // A cached template (compiled with the sentinel run date) is translated once and bound to each
    // run's dates; a graph compiled for real is translated as is and not kept.
    if (compilation.template) {
      const known = this.plans.get(compilation.key);
      if (known) return { plan: known, compilation: timing };
      const plan = buildPlan(compilation.template, true, this.sources);
      if (plan.templated) {
        this.plans.set(compilation.key, plan);
        if (key !== null) {
          this.planned.set(key, plan);
          if (this.options.cacheDir) writePlan(key, plan, this.options.cacheDir);
        }
        return { plan, compilation: timing };
      }
    }
    return { plan: buildPlan(compilation.graph, false, this.sources), compilation: timing };
  }

  /** The warehouse's catalog (quoted) and the columns of its tables, read once per run. */
  private async catalogOf(
    warehouse: WarehouseTransaction,
  ): Promise<{ catalog: string; columns: Map<string, string[]> }> {
    const sql = `select current_database() as catalog, table_schema || '.' || table_name as name, column_name
      from information_schema.columns c
      where table_catalog = current_database()
        and exists (select 1 from information_schema.tables t where t.table_catalog = c.table_catalog and t.table_schema = c.table_schema and t.table_name = c.table_name and t.table_type = 'BASE TABLE')
      order by name, ordinal_position`;
    try {
      const rows = await warehouse.query<{ catalog: string; name: string; column_name: string }>(sql);
      const catalog =
        rows[0]?.catalog ??
        (await warehouse.query<{ catalog: string }>('select current_database() as catalog'))[0]?.catalog;
      const columns = new Map<string, string[]>();
      for (const row of rows) {
        const list = columns.get(row.name) ?? [];
        list.push(row.column_name);
        columns.set(row.name, list);
      }
      return { catalog: quote(String(catalog)), columns };
    } catch (error) {
      throw classify(error, undefined, sql);
    }
  }

  /** Raise DuckDB's memory limit for the run (never lower it); resolves to the function restoring it. */
  private async raiseMemory(tx: WarehouseTransaction, limit: string | undefined): Promise<() => Promise<void>> {
    if (limit === undefined) return async () => {};
    const sql = "select current_setting('memory_limit') as memory_limit";
    try {
      const before = String((await tx.query<{ memory_limit: string }>(sql))[0]?.memory_limit ?? '');
      if (!(sizeBytes(limit) > sizeBytes(before))) return async () => {};
      this.options.onStatement?.('(setup)', `set memory_limit = '${limit}'`);
      await tx.execute(`set memory_limit = '${limit}'`);
      return async () => {
        await tx.execute(`set memory_limit = '${restorable(before).replaceAll("'", "''")}'`).catch(() => {});
      };
    } catch (error) {
      throw classify(error, undefined, sql);
    }
  }

  /**
   * Set the run's DuckDB threads (0: keep the warehouse's); resolves to the threads the run has and
   * the function that restores the warehouse's own.
   */
  private async pinThreads(
    tx: WarehouseTransaction,
    wanted: number,
  ): Promise<{ threads: number; restore: () => Promise<void> }> {
    const sql = "select current_setting('threads') as threads";
    try {
      const before = Number((await tx.query<{ threads: number | bigint }>(sql))[0]?.threads ?? 0);
      if (wanted <= 0 || before === wanted || before <= 0) return { threads: before, restore: async () => {} };
      this.options.onStatement?.('(setup)', `set threads = ${wanted}`);
      await tx.execute(`set threads = ${wanted}`);
      return {
        threads: wanted,
        restore: async () => {
          await tx.execute(`set threads = ${before}`).catch(() => {});
        },
      };
    } catch (error) {
      throw classify(error, undefined, sql);
    }
  }

  private async setup(tx: WarehouseTransaction, plan: Plan, bind: (sql: string) => string): Promise<void> {
    const schemas = [...new Set(plan.actions.map((action) => action.target.schema))].sort();
    const sql = [
      "set TimeZone = 'UTC'",
      ...schemas.map((schema) => bind(`create schema if not exists ${CATALOG_PLACEHOLDER}.${quote(schema)}`)),
    ];
    try {
      for (const statement of sql) {
        this.options.onStatement?.('(setup)', statement);
        await tx.execute(statement);
      }
    } catch (error) {
      throw classify(error, undefined, sql.join(';\n'));
    }
  }

  /** Execute one action in the run's transaction; resolves to the failing rows of an assertion. */
  private async execute(
    tx: WarehouseTransaction,
    action: PlannedAction,
    bind: (sql: string) => string,
    columns: readonly string[],
    runDates: readonly string[],
  ): Promise<number> {
    let current = '';
    const run = async (text: string) => {
      const sql = bind(text);
      current = sql;
      this.options.onStatement?.(action.name, sql);
      await tx.execute(sql);
    };
    try {
      return await (async () => {
        switch (action.type) {
          case 'source':
            await run(await this.sourceViewSql(tx, action, runDates));
            return 0;
          case 'declaration':
            return 0;
          case 'operations':
            for (const sql of action.statements) await run(bind(sql));
            return 0;
          case 'view':
            for (const sql of action.preOps) await run(bind(sql));
            await run(`create or replace view ${relation(action.target)} as\n${bind(action.query!)}`);
            for (const sql of action.postOps) await run(bind(sql));
            return 0;
          case 'table':
            for (const sql of action.preOps) await run(bind(sql));
            await run(`create or replace table ${relation(action.target)} as\n${bind(action.query!)}`);
            for (const sql of action.postOps) await run(bind(sql));
            return 0;
          case 'incremental': {
            // The table's columns as the run found it (Dataform inserts into the existing columns).
            if (columns.length === 0) {
              for (const sql of action.preOps) await run(bind(sql));
              await run(`create table ${relation(action.target)} as\n${bind(action.query!)}`);
              for (const sql of action.postOps) await run(bind(sql));
            } else {
              for (const sql of action.incrementalPreOps) await run(bind(sql));
              const list = columns.map(quote).join(', ');
              await run(
                `insert into ${relation(action.target)} (${list})\nselect ${list} from (\n${bind(action.incrementalQuery!)}\n) as insertions`,
              );
              for (const sql of action.incrementalPostOps) await run(bind(sql));
            }
            return 0;
          }
          case 'assertion': {
            await run(`create or replace view ${relation(action.target)} as\n${bind(action.query!)}`);
            current = bind(`select count(*) as failing_rows from ${relation(action.target)}`);
            this.options.onStatement?.(action.name, current);
            const rows = await tx.query<{ failing_rows: number }>(current);
            return Number(rows[0]?.failing_rows ?? 0);
          }
        }
      })();
    } catch (error) {
      throw classify(error, action, current);
    }
  }

  private async sourceViewSql(
    tx: WarehouseTransaction,
    action: PlannedAction,
    runDates: readonly string[],
  ): Promise<string> {
    const source = action.source!;
    const column = this.sources.partition_column;
    const globs = partitionGlobs(
      this.options.lakeRoot,
      source,
      column,
      this.options.bronzeScope === 'lake' ? undefined : runDates,
    );
    let select: string;
    if (globs.length === 0) {
      select = emptySourceSql(source, column);
    } else if (source.format === 'parquet') {
      // Columns no file has are read as null (a column the lander never wrote, an older layout).
      const described = await tx.query<{ column_name: string }>(
        `describe select * from read_parquet(${globList(globs)}, hive_partitioning = true, union_by_name = true)`,
      );
      select = sourceReaderSql(globs, source, column, new Set(described.map((row) => row.column_name)));
    } else {
      select = sourceReaderSql(globs, source, column);
    }
    return `create or replace view ${relation(action.target)} as\n${select}`;
  }

  private async count(
    warehouse: WarehouseTransaction,
    plan: Plan,
    runDates: readonly string[],
    bind: (sql: string) => string,
  ): Promise<{ tables: TransformTableCount[]; quarantine: TransformQuarantineCount[] }> {
    const built = plan.actions.filter(
      (action) =>
        action.type === 'table' ||
        action.type === 'incremental' ||
        (action.type === 'operations' && action.statements.length > 0),
    );
    const existing = new Set(
      (
        await warehouse.query<{ name: string }>(
          "select table_schema || '.' || table_name as name from information_schema.tables where table_catalog = current_database() and table_type = 'BASE TABLE'",
        )
      ).map((row) => row.name),
    );
    const counted = built.filter((action) => existing.has(action.name));
    const quarantined = counted.filter((action) => action.tags.includes('quarantine'));
    if (counted.length === 0) return { tables: [], quarantine: [] };
    const dates = plan.render(runDates);
    const sql = bind(
      [
        ...counted.map(
          (action) => `select 'table' as kind, '${action.name}' as name, count(*) as n from ${relation(action.target)}`,
        ),
        ...quarantined.map(
          (action) =>
            `select 'quarantine' as kind, '${action.name}' as name, count(*) as n from ${relation(action.target)} where run_date in (${dates})`,
        ),
      ].join('\nunion all\n'),
    );
    this.options.onStatement?.('(counts)', sql);
    let rows: { kind: string; name: string; n: number }[];
    try {
      rows = await warehouse.query<{ kind: string; name: string; n: number }>(sql);
    } catch (error) {
      throw classify(error, undefined, sql);
    }
    const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);
    return {
      tables: rows
        .filter((row) => row.kind === 'table')
        .map((row) => ({ name: row.name, rows: Number(row.n) }))
        .sort(byName),
      quarantine: rows
        .filter((row) => row.kind === 'quarantine')
        .map((row) => ({ table: row.name, rows: Number(row.n) }))
        .sort((a, b) => a.table.localeCompare(b.table)),
    };
  }
}
