import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DataformCompiler,
  DuckDbTransformRunner,
  openDuckDbWarehouse,
  openDuckDbWarehouseAccess,
  type DuckDbWarehouse,
} from '@mlops/adapters-local';
import { PlatformError, TransformError, tableChecksums } from '@mlops/kernel';
import { warehouseAccessOf } from '@mlops/testing';
import { tempDir, waitFor } from '@mlops/testing/suites';
import { closeBronzeWriter, writeBronzePartition, type BronzeRecord } from './bronze.fixtures.js';
import { CLICKS, HOSTILE, RUN_DATE, SALES, STARTUPS, storedKey } from './dirty.fixtures.js';
import { KEY_FORMATS } from './key-formats.js';

const PROJECT = resolve(import.meta.dirname, '../../../../dataform');

describe('DuckDbTransformRunner on hand-written dirty bronze', () => {
  const dir = tempDir('mlops-dataform-runner-');
  const lake = join(dir.path, 'lake');
  const compiler = new DataformCompiler({ projectDir: PROJECT });
  let warehouse: DuckDbWarehouse;
  let runner: DuckDbTransformRunner;
  const statements: { action: string; sql: string }[] = [];

  beforeAll(async () => {
    await writeBronzePartition(lake, 'sales', RUN_DATE, [
      ...Object.values(SALES.clean).map((entry) => entry.record),
      ...Object.values(SALES.rejected).map((entry) => entry.record),
      SALES.duplicate,
      SALES.conflict,
    ]);
    await writeBronzePartition(lake, 'clickstream', RUN_DATE, [
      ...Object.values(CLICKS.clean),
      ...Object.values(CLICKS.rejected).map((entry) => entry.record),
      CLICKS.duplicate,
    ]);
    await writeBronzePartition(lake, 'startups', RUN_DATE, [
      ...Object.values(STARTUPS.clean),
      ...Object.values(STARTUPS.rejected).map((entry) => entry.record),
    ]);
    warehouse = await openDuckDbWarehouse({ path: join(dir.path, 'warehouse.duckdb') });
    runner = new DuckDbTransformRunner({
      projectDir: PROJECT,
      lakeRoot: lake,
      warehouse: warehouseAccessOf(warehouse),
      compiler,
      onStatement: (action, sql) => statements.push({ action, sql }),
    });
  });

  afterAll(async () => {
    await warehouse?.close();
    await closeBronzeWriter();
    dir.remove();
  });

  it('compiles every action for BigQuery and runs each one on DuckDB, both incremental paths', async () => {
    const { graph } = await compiler.compile([RUN_DATE]);
    expect(graph.projectConfig?.warehouse).toBe('bigquery');
    const compiled = [...(graph.tables ?? []), ...(graph.operations ?? []), ...(graph.assertions ?? [])].map(
      (action) => `${action.target.schema}.${action.target.name}`,
    );
    // BigQuery SQL as written for GCP: fully qualified, backticked targets and external tables.
    expect(graph.operations?.find((action) => action.target.name === 'sales')?.queries[0]).toMatch(
      /create or replace external table `mlops-local\.bronze\.sales`/,
    );

    for (const pass of ['create', 'incremental'] as const) {
      const result = await runner.run({ runDates: [RUN_DATE] });
      expect(result.actions.map((action) => action.name).sort(), pass).toEqual([...compiled].sort());
      expect(
        result.actions.every((action) => action.status === 'succeeded'),
        pass,
      ).toBe(true);
      expect(new Set(result.actions.map((action) => action.type))).toEqual(
        new Set(['source', 'view', 'incremental', 'table', 'operations', 'assertion']),
      );
      expect(
        result.assertions.filter((assertion) => !assertion.passed),
        pass,
      ).toEqual([]);
      expect(result.assertions.length).toBe(graph.assertions?.length);
    }
    // The second pass went down the incremental path: partition deletes, then inserts.
    expect(
      statements.some(
        (entry) =>
          entry.action === 'staging.stg_sales__orders' &&
          /^DELETE FROM "warehouse"\.staging\.stg_sales__orders WHERE run_date IN \(CAST\('2026-01-05' AS DATE\)\)$/i.test(
            entry.sql,
          ),
      ),
    ).toBe(true);
    expect(
      statements.some(
        (entry) =>
          entry.action === 'staging.stg_sales__orders' &&
          entry.sql.startsWith('insert into "warehouse"."staging"."stg_sales__orders"'),
      ),
    ).toBe(true);
    expect(statements.some((entry) => /begin transaction|commit transaction/i.test(entry.sql))).toBe(false);
    // Compiles and runs the whole project twice: more than the default minute on a loaded machine.
  }, 300_000);

  // The file is named warehouse.duckdb, as in production: its catalog "warehouse" makes a bare
  // warehouse.fct_sales ambiguous, so these queries name the catalog (the runner does it itself).
  it('puts every dirty kind in quarantine with its reason and lets the clean rows reach gold', async () => {
    const result = await runner.run({ runDates: [RUN_DATE] });
    const reasons = await warehouse.query<{ id: string | null; reason: string }>(
      'select order_id as id, reject_reason as reason from warehouse.staging.quarantine_sales',
    );
    for (const [kind, { record, reason }] of Object.entries(SALES.rejected)) {
      expect(reasons, kind).toContainEqual({ id: storedKey(record.order_id), reason });
    }
    expect(reasons).toContainEqual({ id: SALES.duplicate.order_id, reason: 'duplicate_order_id' });
    expect(reasons).toContainEqual({ id: SALES.conflict.order_id, reason: 'conflicting_order_id' });
    expect(reasons).toHaveLength(Object.keys(SALES.rejected).length + 2);

    const sales = await warehouse.query<{ order_id: string; ordered_at: string }>(
      'select order_id, ordered_at from warehouse.warehouse.fct_sales order by order_id',
    );
    expect(sales).toEqual(
      Object.values(SALES.clean)
        .map(({ record, orderedAt }) => ({ order_id: record.order_id, ordered_at: orderedAt }))
        .sort((a, b) => String(a.order_id).localeCompare(String(b.order_id))),
    );

    // PII: only digests survive; the raw address is stored nowhere.
    const digests = await warehouse.query<{ customer_id: string; email_hash: string | null }>(
      'select customer_id, email_hash from warehouse.warehouse.dim_customer order by 1',
    );
    expect(digests).toEqual([
      { customer_id: 'cus_0000001', email_hash: 'a'.repeat(64) },
      { customer_id: 'cus_0000002', email_hash: null },
    ]);
    const leaked = await warehouse.query<{ n: number }>(
      "select (select count(*) from warehouse.staging.stg_sales__orders where email_hash like '%@%') + (select count(*) from staging.quarantine_sales where email_hash like '%@%') as n",
    );
    expect(leaked[0]!.n).toBe(0);

    const clickReasons = await warehouse.query<{ id: string; reason: string }>(
      'select event_id as id, reject_reason as reason from warehouse.staging.quarantine_clickstream',
    );
    for (const [kind, { record, reason }] of Object.entries(CLICKS.rejected))
      expect(clickReasons, kind).toContainEqual({ id: storedKey(record.event_id), reason });
    expect(clickReasons).toContainEqual({ id: CLICKS.duplicate.event_id, reason: 'duplicate_event_id' });
    const events = await warehouse.query<{ event_id: string }>(
      'select event_id from warehouse.staging.stg_clickstream__events order by 1',
    );
    expect(events.map((row) => row.event_id)).toEqual(
      Object.values(CLICKS.clean)
        .map((record) => record.event_id as string)
        .sort(),
    );
    const sessions = await warehouse.query(
      'select session_id, customer_id, events, product_views, add_to_carts, purchases, reached_purchase from warehouse.warehouse.fct_sessions order by 1',
    );
    expect(sessions).toEqual([
      {
        session_id: 'ses_0000000000000001',
        customer_id: 'cus_0000001',
        events: 4,
        product_views: 1,
        add_to_carts: 1,
        purchases: 1,
        reached_purchase: true,
      },
      {
        session_id: 'ses_0000000000000002',
        customer_id: null,
        events: 1,
        product_views: 0,
        add_to_carts: 0,
        purchases: 0,
        reached_purchase: false,
      },
      // Its other event, with a malformed customer_id, is in quarantine; this one is counted alone.
      {
        session_id: 'ses_0000000000000003',
        customer_id: 'cus_0000001',
        events: 1,
        product_views: 0,
        add_to_carts: 0,
        purchases: 0,
        reached_purchase: false,
      },
    ]);

    const startupReasons = await warehouse.query<{ id: string; reason: string }>(
      'select company_id as id, reject_reason as reason from warehouse.staging.quarantine_startups',
    );
    for (const [kind, { record, reason }] of Object.entries(STARTUPS.rejected))
      expect(startupReasons, kind).toContainEqual({ id: storedKey(record.company_id), reason });
    const startups = await warehouse.query(
      'select company_id, headcount, name from warehouse.warehouse.dim_startup order by 1',
    );
    expect(startups).toEqual([
      { company_id: 'stp_000001', headcount: 45, name: 'Acme <script>alert(1)</script>' },
      { company_id: 'stp_000002', headcount: 40, name: 'Acme <script>alert(1)</script>' },
    ]);

    expect(result.quarantine).toEqual([
      { table: 'staging.quarantine_clickstream', rows: Object.keys(CLICKS.rejected).length + 1 },
      { table: 'staging.quarantine_sales', rows: Object.keys(SALES.rejected).length + 2 },
      { table: 'staging.quarantine_startups', rows: Object.keys(STARTUPS.rejected).length },
    ]);
    expect(result.tables).toContainEqual({ name: 'warehouse.fct_sales', rows: Object.keys(SALES.clean).length });
    expect(result.tables).toContainEqual({ name: 'warehouse.fact_predictions_churn', rows: 0 });
  }, 300_000);

  it('keeps every key without its format out of staging and gold, and in quarantine with the hostile value intact', async () => {
    const hostile = await warehouse.query(
      'select order_id, customer_id, reject_reason from warehouse.staging.quarantine_sales where customer_id = ?',
      [HOSTILE],
    );
    expect(hostile).toEqual([
      {
        order_id: SALES.rejected.hostileCustomer!.record.order_id,
        customer_id: HOSTILE,
        reject_reason: 'invalid_customer_id',
      },
    ]);
    const keyColumns: [table: string, column: string, key: string][] = [
      ['staging.stg_sales__orders', 'order_id', 'order_id'],
      ['staging.stg_sales__orders', 'customer_id', 'customer_id'],
      ['staging.stg_sales__orders', 'product_id', 'product_id'],
      ['staging.stg_clickstream__events', 'event_id', 'event_id'],
      ['staging.stg_clickstream__events', 'session_id', 'session_id'],
      ['staging.stg_clickstream__events', 'anonymous_id', 'anonymous_id'],
      ['staging.stg_clickstream__events', 'customer_id', 'customer_id'],
      ['staging.stg_clickstream__events', 'product_id', 'product_id'],
      ['staging.stg_startups__companies', 'company_id', 'company_id'],
      ['warehouse.fct_sales', 'order_id', 'order_id'],
      ['warehouse.fct_sales', 'customer_id', 'customer_id'],
      ['warehouse.fct_sales', 'product_id', 'product_id'],
      ['warehouse.dim_customer', 'customer_id', 'customer_id'],
      ['warehouse.fct_sessions', 'session_id', 'session_id'],
      ['warehouse.fct_sessions', 'customer_id', 'customer_id'],
      ['warehouse.fct_click_features', 'customer_id', 'customer_id'],
      ['warehouse.fct_customer_days', 'customer_id', 'customer_id'],
      ['warehouse.dim_startup', 'company_id', 'company_id'],
    ];
    for (const [table, column, key] of keyColumns) {
      const [counts] = await warehouse.query<{ keys: number; misfits: number }>(
        `select count(${column}) as keys, count(*) filter (where not regexp_full_match(${column}, ?)) as misfits from warehouse.${table}`,
        [KEY_FORMATS[key]!],
      );
      expect(counts!.keys, `${table}.${column}`).toBeGreaterThan(0);
      expect(counts!.misfits, `${table}.${column}`).toBe(0);
    }
  });

  it('refuses a run date that is not a date before any SQL runs', async () => {
    statements.length = 0;
    for (const bad of ['2026-02-30', '2026-1-05', "2026-01-05'; drop table x; --", '']) {
      const error = await runner.run({ runDates: [RUN_DATE, bad] }).catch((caught: unknown) => caught);
      expect(error, bad).toBeInstanceOf(TransformError);
      expect((error as TransformError).code).toBe('DATAFORM.INVALID_RUN_DATE');
    }
    await expect(runner.run({ runDates: [] })).rejects.toMatchObject({ code: 'DATAFORM.INVALID_RUN_DATE' });
    await expect(runner.run({ runDates: [RUN_DATE], vars: { lake_uri: 'gs://a,b=c' } })).rejects.toMatchObject({
      code: 'DATAFORM.INVALID_VAR',
    });
    expect(statements).toEqual([]);
  });

  it('reports a failing action with its name, its file and the translated SQL', async () => {
    const broken = tempDir('mlops-dataform-broken-');
    try {
      cpSync(PROJECT, broken.path, { recursive: true, filter: (path) => !path.includes('node_modules') });
      mkdirSync(join(broken.path, 'definitions', 'warehouse'), { recursive: true });
      writeFileSync(
        join(broken.path, 'definitions', 'warehouse', 'fct_broken.sqlx'),
        'config { type: "table", schema: "warehouse", description: "Grain: nothing; it fails." }\nselect no_such_column, safe_divide(1, 0) as x from ${ref("fct_sales")}\n',
      );
      const brokenRunner = new DuckDbTransformRunner({
        projectDir: broken.path,
        lakeRoot: lake,
        warehouse: warehouseAccessOf(warehouse),
      });
      const error = (await brokenRunner
        .run({ runDates: [RUN_DATE] })
        .catch((caught: unknown) => caught)) as TransformError;
      expect(error).toBeInstanceOf(TransformError);
      expect(error.code).toBe('DATAFORM.ACTION_FAILED');
      expect(error.errorClass).toBe('permanent');
      expect(error.action).toBe('warehouse.fct_broken');
      expect(error.fileName).toBe('definitions/warehouse/fct_broken.sqlx');
      // The catalog of a file named warehouse.duckdb is "warehouse": every target is qualified with it.
      expect(error.sql).toBe(
        'create or replace table "warehouse"."warehouse"."fct_broken" as\nSELECT no_such_column, CASE WHEN 0 <> 0 THEN 1 / 0 ELSE NULL END AS x FROM "warehouse".warehouse.fct_sales',
      );
      expect(error.message).toMatch(/no_such_column/);
    } finally {
      broken.remove();
    }
  }, 300_000);

  it('drops an order re-sent on a later date from gold, but reports a different order under a used id', async () => {
    const nextDay = '2026-01-06';
    const resent = SALES.clean.iso!.record;
    const collision: BronzeRecord = {
      ...SALES.clean.epochNumber!.record,
      customer_id: 'cus_0000042',
      order_ts: '2026-01-06T08:00:00Z',
      run_date: nextDay,
    };
    await writeBronzePartition(lake, 'sales', nextDay, [resent, collision]);
    await writeBronzePartition(lake, 'clickstream', nextDay, []);
    const result = await runner.run({ runDates: [nextDay] });
    expect(result.assertions.filter((assertion) => !assertion.passed)).toEqual([
      { name: 'warehouse_fct_sales_assertions_uniqueKeyInTable', passed: false, failingRows: 1 },
    ]);
    const rows = await warehouse.query(
      'select order_id, customer_id, run_date from warehouse.warehouse.fct_sales where order_id in (?, ?) order by run_date, order_id',
      [resent.order_id as string, collision.order_id as string],
    );
    const firstDay = [
      { order_id: resent.order_id, customer_id: 'cus_0000001', run_date: RUN_DATE },
      { order_id: collision.order_id, customer_id: 'cus_0000001', run_date: RUN_DATE },
    ].sort((a, b) => String(a.order_id).localeCompare(String(b.order_id)));
    expect(rows).toEqual([
      ...firstDay,
      { order_id: collision.order_id, customer_id: 'cus_0000042', run_date: nextDay },
    ]);
    // The re-sent copy is still in staging: nothing is lost, it is only not counted twice.
    expect(
      await warehouse.query(
        "select count(*) as n from warehouse.staging.stg_sales__orders where run_date = date '2026-01-06'",
      ),
    ).toEqual([{ n: 2 }]);
  });

  it('makes a build visible whole or not at all: a failed build and a killed one leave nothing of themselves', async () => {
    const path = join(dir.path, 'atomic.duckdb');
    const ownLake = join(dir.path, 'atomic-lake');
    cpSync(lake, ownLake, { recursive: true });
    const access = openDuckDbWarehouseAccess({ path });
    const checksums = () => access.read((session) => tableChecksums(session));
    try {
      // A build whose last action fails: the staging and gold tables built before it do not stay.
      const broken = tempDir('mlops-dataform-broken-');
      cpSync(PROJECT, broken.path, { recursive: true, filter: (source) => !source.includes('node_modules') });
      writeFileSync(
        join(broken.path, 'definitions', 'warehouse', 'fct_broken.sqlx'),
        'config { type: "table", schema: "warehouse" }\nselect no_such_column from ${ref("fct_sales")}\n',
      );
      const failing = new DuckDbTransformRunner({ projectDir: broken.path, lakeRoot: ownLake, warehouse: access });
      await expect(failing.run({ runDates: [RUN_DATE] })).rejects.toMatchObject({ code: 'DATAFORM.ACTION_FAILED' });
      broken.remove();
      expect(await checksums()).toEqual({});

      // Compiled once here; the child process reads the compilation from the same cache.
      const cacheDir = join(dir.path, 'atomic-cache');
      const runner = new DuckDbTransformRunner({ projectDir: PROJECT, lakeRoot: ownLake, warehouse: access, cacheDir });
      await runner.run({ runDates: [RUN_DATE] });
      const built = await checksums();
      expect(built['warehouse.fct_sales']).toMatch(/^[1-9]/);

      // The next day lands; its build is SIGKILLed halfway: readers still see the first build.
      const nextDay = '2026-01-07';
      // Other ids of the same format (silver checks key formats): each hex digit of the id moved on by one.
      const shift = (id: string) =>
        id.replace(/[0-9a-f]{16}$/, (hex) =>
          [...hex].map((digit) => ((parseInt(digit, 16) + 1) % 16).toString(16)).join(''),
        );
      const renamed = (record: BronzeRecord, id: string) => ({ ...record, [id]: shift(String(record[id])) });
      await writeBronzePartition(
        ownLake,
        'sales',
        nextDay,
        Object.values(SALES.clean).map((entry) => ({ ...renamed(entry.record, 'order_id'), run_date: nextDay })),
      );
      await writeBronzePartition(
        ownLake,
        'clickstream',
        nextDay,
        Object.values(CLICKS.clean).map((record) => renamed(record, 'event_id')),
      );
      const child = spawn(
        process.execPath,
        [
          '--conditions=@mlops/source',
          '--import',
          'tsx',
          join(import.meta.dirname, '../fixtures/transform-build.ts'),
          PROJECT,
          ownLake,
          path,
          nextDay,
          cacheDir,
        ],
        { cwd: resolve(PROJECT, '..'), stdio: ['ignore', 'pipe', 'inherit'] },
      );
      let output = '';
      child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const exited = new Promise((resolveExit) => child.on('exit', resolveExit));
      await waitFor(() => /statement (2\d|[3-9]\d)/.test(output), 'the build to be halfway', 120_000);
      child.kill('SIGKILL');
      await exited;
      expect(output).not.toContain('built');
      expect(await checksums()).toEqual(built);
      await runner.run({ runDates: [nextDay] });
      expect((await checksums())['warehouse.fct_sales']).not.toEqual(built['warehouse.fct_sales']);
    } finally {
      await access.close();
    }
  }, 600_000);

  it('names an exceeded memory limit as such, permanent, with the settings to change (not as a busy warehouse)', async () => {
    const access = openDuckDbWarehouseAccess({ path: join(dir.path, 'starved.duckdb'), memoryLimit: '1MB' });
    try {
      const starved = new DuckDbTransformRunner({ projectDir: PROJECT, lakeRoot: lake, warehouse: access, compiler });
      const error = (await starved.run({ runDates: [RUN_DATE] }).catch((caught: unknown) => caught)) as PlatformError;
      expect(error).toBeInstanceOf(PlatformError);
      expect(error.code).toBe('DATAFORM.OUT_OF_MEMORY');
      expect(error.errorClass).toBe('permanent');
      expect(error.message).toMatch(
        /memory limit .*MLOPS_WAREHOUSE_MEMORY_LIMIT.*MLOPS_TRANSFORM_MAX_ROWS.*MLOPS_TRANSFORM_MAX_DATES/,
      );
    } finally {
      await access.close();
    }
  });

  it('waits, bounded, for a DuckDB file another process holds outside the lock, then fails as transient', async () => {
    const path = join(dir.path, 'locked.duckdb');
    const holder: ChildProcess = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { DuckDBInstance } from '@duckdb/node-api'; await DuckDBInstance.create(${JSON.stringify(path)}); console.log('locked'); setInterval(() => {}, 1000);`,
      ],
      { cwd: resolve(PROJECT, '..'), stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await new Promise<void>((resolveLocked, reject) => {
        holder.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('locked') && resolveLocked());
        holder.on('exit', (code) => reject(new Error(`lock holder exited with ${code}`)));
      });
      const access = openDuckDbWarehouseAccess({ path, waitMs: 1_500 });
      const leased = new DuckDbTransformRunner({ projectDir: PROJECT, lakeRoot: lake, warehouse: access, compiler });
      const started = Date.now();
      const error = (await leased.run({ runDates: [RUN_DATE] }).catch((caught: unknown) => caught)) as PlatformError;
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_400);
      expect(error).toBeInstanceOf(PlatformError);
      expect(error.code).toBe('WAREHOUSE.BUSY');
      expect(error.errorClass).toBe('transient');
      expect(error.message).toContain('a process outside the lock');
      await access.close();
    } finally {
      holder.kill();
    }
  });
});
