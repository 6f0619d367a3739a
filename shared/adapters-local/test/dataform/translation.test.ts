import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  TranslationError,
  loadBigQueryTranslator,
  openDuckDbWarehouse,
  translateBigQueryToDuckDb,
  type DuckDbWarehouse,
} from '@mlops/adapters-local';
import { type WarehouseRow } from '@mlops/kernel';
import { tempDir } from '@mlops/testing/suites';

// Each rewrite the runner adds to polyglot's translation, shown on the SQL text and, where it
// changes results, on DuckDB itself (session time zone pinned to UTC, as the runner does).
describe('BigQuery to DuckDB translation', () => {
  const dir = tempDir('mlops-translate-');
  let duckdb: DuckDbWarehouse;
  const run = async (bigquery: string): Promise<WarehouseRow[]> => {
    const statements = translateBigQueryToDuckDb(bigquery);
    expect(statements).toHaveLength(1);
    return duckdb.query(statements[0]!.replaceAll('__mlops_catalog__', 'db'));
  };

  beforeAll(async () => {
    await loadBigQueryTranslator();
    duckdb = await openDuckDbWarehouse({ path: join(dir.path, 'db.duckdb') });
    await duckdb.execute("set TimeZone = 'UTC'");
    await duckdb.execute('create schema db.warehouse');
    await duckdb.execute(
      "create table db.warehouse.orders as select * from (values (1, 'a@b', 10.5), (2, 'c', 20.25), (2, 'c', 20.25)) as t(id, email, amount)",
    );
  });
  afterAll(async () => {
    await duckdb?.close();
    dir.remove();
  });

  it('R0 maps `project.dataset.table` to the catalog placeholder, the dataset and the table', () => {
    expect(
      translateBigQueryToDuckDb(
        'select * from `mlops-local.warehouse.fct_sales` as s join `staging.stg_x` using (id)',
      )[0],
    ).toBe('SELECT * FROM __mlops_catalog__.warehouse.fct_sales AS s JOIN __mlops_catalog__.staging.stg_x USING (id)');
    // Inside a string it is left alone.
    expect(translateBigQueryToDuckDb("select '`a.b.c`' as x")[0]).toBe("SELECT '`a.b.c`' AS x");
  });

  it('R1 turns SAFE.PARSE_TIMESTAMP and SAFE.PARSE_DATE into TRY_STRPTIME', async () => {
    expect(translateBigQueryToDuckDb("select safe.parse_timestamp('%d/%m/%Y %H:%M', concat(a, ')')) from t")[0]).toBe(
      "SELECT TRY_STRPTIME(CONCAT(a, ')'), '%d/%m/%Y %H:%M') FROM t",
    );
    expect(
      await run(
        "select safe.parse_timestamp('%d/%m/%Y %H:%M', '31/01/2026 10:05') as ok, safe.parse_timestamp('%d/%m/%Y %H:%M', 'soon') as bad, safe.parse_date('%d/%m/%Y', '31/01/2026') as day",
      ),
    ).toEqual([{ ok: '2026-01-31T10:05:00.000Z', bad: null, day: '2026-01-31' }]);
    expect(() => translateBigQueryToDuckDb('select safe.sqrt(x) from t')).toThrow(
      /SAFE\.SQRT has no DuckDB translation/,
    );
  });

  it('R2 keeps REGEXP_CONTAINS a partial match', async () => {
    expect(translateBigQueryToDuckDb("select regexp_contains(email, r'@') from t")[0]).toBe(
      "SELECT REGEXP_MATCHES(email, '@') FROM t",
    );
    expect(
      await run("select id, regexp_contains(email, r'@') as has_at from `p.warehouse.orders` where id = 1"),
    ).toEqual([{ id: 1, has_at: true }]);
  });

  it('R3 reads BigQuery TIMESTAMP as an instant: a UTC offset is applied, not dropped', async () => {
    expect(
      translateBigQueryToDuckDb(
        'select safe_cast(x as timestamp), cast(y as timestamp), timestamp_millis(1) from t',
      )[0],
    ).toBe('SELECT TRY_CAST(x AS TIMESTAMPTZ), CAST(y AS TIMESTAMPTZ), EPOCH_MS(1) FROM t');
    expect(
      await run(
        "select safe_cast('2026-01-31T10:00:00+02:00' as timestamp) as offset_ts, safe_cast('2026-01-31T10:00:00' as timestamp) as no_zone",
      ),
    ).toEqual([{ offset_ts: '2026-01-31T08:00:00.000Z', no_zone: '2026-01-31T10:00:00.000Z' }]);
    expect(translateBigQueryToDuckDb('create table if not exists `p.d.t` (predicted_at timestamp, n int64)')[0]).toBe(
      'CREATE TABLE IF NOT EXISTS __mlops_catalog__.d.t (predicted_at TIMESTAMPTZ, n BIGINT)',
    );
    expect(() => translateBigQueryToDuckDb('select cast(x as datetime) from t')).toThrow(/DATETIME is not supported/);
  });

  it('R4 keeps NUMERIC exact to nine decimals', async () => {
    expect(translateBigQueryToDuckDb('select cast(x as numeric), round(safe_cast(y as numeric), 2) from t')[0]).toBe(
      'SELECT CAST(x AS DECIMAL(38, 9)), ROUND(TRY_CAST(y AS DECIMAL(38, 9)), 2) FROM t',
    );
    expect(
      await run("select cast('1.23456' as numeric) as exact, sum(amount) as total from `p.warehouse.orders`"),
    ).toEqual([{ exact: 1.23456, total: 51 }]);
    expect(() => translateBigQueryToDuckDb('select cast(x as numeric(10, 2)) from t')).toThrow(TranslationError);
    expect(() => translateBigQueryToDuckDb('select cast(x as bignumeric) from t')).toThrow(/BIGNUMERIC/);
  });

  it.each([
    ['the :: cast', 'select x::varchar from t', /:: cast/],
    ['an aggregate FILTER clause', 'select count(*) filter (where x > 1) from t', /FILTER \(WHERE/],
    ['a UNION without ALL or DISTINCT', 'select a from t union select a from u', /UNION ALL or UNION DISTINCT/],
    ['a DuckDB list aggregate', 'select list(distinct x order by x) from t', /list\(\) is a DuckDB list function/],
    ['a DuckDB list function', 'select list_transform(a, d -> d > 1) from t', /list_transform\(\)/],
  ])('R7 refuses %s, which is not GoogleSQL', (_what, sql, message) => {
    expect(() => translateBigQueryToDuckDb(sql)).toThrow(message);
  });

  it('R7 leaves the GoogleSQL spellings and strings that merely mention them alone', () => {
    expect(
      translateBigQueryToDuckDb(
        "select cast(x as string), countif(y), 'a::b union list(' as s from t union all select 'x', 1, '' from u union distinct select 'y', 2, '' from v",
      ),
    ).toHaveLength(1);
  });

  it('relies on polyglot for SAFE_DIVIDE, COUNTIF, DATE_TRUNC, QUALIFY, SAFE_CAST and * EXCEPT, which run on DuckDB', async () => {
    expect(
      await run(`
        select * except (email), safe_divide(amount, 0) as ratio, safe_cast('x' as int64) as bad_int, date_trunc(date '2026-03-14', month) as month
        from \`p.warehouse.orders\`
        where true
        qualify row_number() over (partition by id order by amount desc) = 1
        order by id`),
    ).toEqual([
      // Known, unpatched gap: on a DATE, DuckDB's DATE_TRUNC (and DATE_ADD/DATE_SUB as `d + INTERVAL`)
      // return a TIMESTAMP where BigQuery returns a DATE. Same value; the project compares with them
      // but never stores them.
      { id: 1, amount: 10.5, ratio: null, bad_int: null, month: '2026-03-01T00:00:00.000Z' },
      { id: 2, amount: 20.25, ratio: null, bad_int: null, month: '2026-03-01T00:00:00.000Z' },
    ]);
    expect(await run('select countif(amount > 15) as big from `p.warehouse.orders`')).toEqual([{ big: 2 }]);
  });

  it('R6 binds @name and ? parameters to the SQL the caller gives, outside strings, and refuses them unbound', async () => {
    const bound = translateBigQueryToDuckDb(
      "select id from `p.warehouse.orders` where amount > @min and email != '@min' and id in unnest(@ids) order by id limit ?",
      {
        parameter: (reference) =>
          'name' in reference ? (reference.name === 'min' ? '(10.0)' : '([1, 2])') : `(${reference.position + 4})`,
      },
    );
    expect(bound).toHaveLength(1);
    expect(bound[0]).toContain("email <> '@min'");
    expect(bound[0]).toContain('LIMIT (5)');
    expect(await duckdb.query(bound[0]!.replaceAll('__mlops_catalog__', 'db'))).toEqual([
      { id: 1 },
      { id: 2 },
      { id: 2 },
    ]);
    // Without a binding, polyglot would read @min as abs(min): refused instead.
    expect(() => translateBigQueryToDuckDb('select @min')).toThrow(/need values bound/);
    expect(() => translateBigQueryToDuckDb('select @@project_id', { parameter: () => '1' })).toThrow(/@@project_id/);
  });

  it('reports what polyglot cannot parse', () => {
    expect(() => translateBigQueryToDuckDb('select from where')).toThrow(TranslationError);
  });
});
