/**
 * What every warehouse access must do, whatever the engine: the same suite runs on DuckDB and on
 * BigQuery (through the real client against the BigQuery stand-in). The SQL is the subset both
 * engines accept (bigquery-warehouse.adapter.ts), with table names from `describeSchema`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WarehouseAccess, WarehouseDialect, WarehouseSchema } from '@mlops/kernel';

/** An engine under test: a fresh access whose schema `schema` exists and is empty. */
export interface WarehouseContractSubject {
  access: WarehouseAccess;
  schema: string;
  stop(): Promise<void>;
}

export function describeWarehouseContract(name: string, start: () => Promise<WarehouseContractSubject>): void {
  describe(`warehouse contract: ${name}`, () => {
    let subject: WarehouseContractSubject;
    let names: WarehouseSchema;
    let dialect: WarehouseDialect;
    const t = () => names.table('orders');
    const p = () => names.table('predictions');

    beforeAll(async () => {
      subject = await start();
      const { access, schema } = subject;
      await access.write(async (warehouse) => {
        names = await warehouse.describeSchema(schema);
        dialect = warehouse.dialect;
        await warehouse.execute(
          `create table ${t()} (order_id string, customer_id string, order_date date, amount_usd ${dialect.float64}, quantity int64, is_completed bool, ordered_at timestamp)`,
        );
        await warehouse.execute(
          `insert into ${t()} (order_id, customer_id, order_date, amount_usd, quantity, is_completed, ordered_at)
           select * from (select 'o1' as a, 'c1' as b, cast('2026-10-01' as date) as c, 10.5 as d, 1 as e, true as f, cast('2026-10-01T08:00:00Z' as timestamp) as g
           union all select 'o2', 'c1', cast('2026-10-02' as date), 20.25, 2, false, cast('2026-10-02T09:30:00Z' as timestamp)
           union all select 'o3', 'c2', cast('2026-10-02' as date), null, 3, true, null)`,
        );
      });
    }, 120_000);
    afterAll(async () => {
      await subject?.stop();
    });

    it('describes the schema: tables with their columns in order, and names that run', async () => {
      const described = await subject.access.read((warehouse) => warehouse.describeSchema(subject.schema));
      expect([...described.tables.keys()]).toEqual(['orders']);
      expect(described.tables.get('orders')!.map((column) => column.name)).toEqual([
        'order_id',
        'customer_id',
        'order_date',
        'amount_usd',
        'quantity',
        'is_completed',
        'ordered_at',
      ]);
      const absent = await subject.access.read((warehouse) => warehouse.describeSchema('no_such_schema'));
      expect(absent.tables.size).toBe(0);
    });

    it('gives values as the port says: dates YYYY-MM-DD, timestamps ISO, numbers, booleans, nulls', async () => {
      const rows = await subject.access.read((warehouse) =>
        warehouse.query(
          `select order_id, cast(order_date as string) as day, order_date, amount_usd, quantity, is_completed, ordered_at from ${t()} order by order_id`,
        ),
      );
      expect(rows).toEqual([
        {
          order_id: 'o1',
          day: '2026-10-01',
          order_date: '2026-10-01',
          amount_usd: 10.5,
          quantity: 1,
          is_completed: true,
          ordered_at: '2026-10-01T08:00:00.000Z',
        },
        {
          order_id: 'o2',
          day: '2026-10-02',
          order_date: '2026-10-02',
          amount_usd: 20.25,
          quantity: 2,
          is_completed: false,
          ordered_at: '2026-10-02T09:30:00.000Z',
        },
        {
          order_id: 'o3',
          day: '2026-10-02',
          order_date: '2026-10-02',
          amount_usd: null,
          quantity: 3,
          is_completed: true,
          ordered_at: null,
        },
      ]);
    });

    it('gives the same values by column as by row, and empty columns for no rows', async () => {
      const sql = `select order_id, quantity, amount_usd from ${t()} order by order_id`;
      const [rows, columns] = await subject.access.read(async (warehouse) => [
        await warehouse.query(sql),
        await warehouse.queryColumns(sql),
      ]);
      expect(columns.names).toEqual(['order_id', 'quantity', 'amount_usd']);
      expect(columns.rowCount).toBe(3);
      columns.names.forEach((column, index) => expect(columns.columns[index]).toEqual(rows.map((row) => row[column])));
      const empty = await subject.access.read((warehouse) =>
        warehouse.queryColumns(`select order_id, quantity from ${t()} where quantity < 0`),
      );
      expect(empty).toEqual({ names: ['order_id', 'quantity'], columns: [[], []], rowCount: 0 });
    });

    it('binds parameters of every type, never as SQL text', async () => {
      const rows = await subject.access.read((warehouse) =>
        warehouse.query(
          `select order_id from ${t()}
           where customer_id = ? and order_date >= cast(? as date) and quantity >= ? and coalesce(amount_usd, 0) < ?
             and is_completed = ? and order_id in (select * from unnest(?)) and ordered_at < cast(? as timestamp)
           order by order_id`,
          ['c1', '2026-10-01', 1, 15.5, true, ['o1', 'o2', "o'; drop table x; --"], '2026-10-03T00:00:00Z'],
        ),
      );
      expect(rows).toEqual([{ order_id: 'o1' }]);
      const hostile = await subject.access.read((warehouse) =>
        warehouse.query(`select count(*) as n from ${t()} where customer_id = ?`, ["c1' or '1'='1"]),
      );
      expect(hostile).toEqual([{ n: 0 }]);
    });

    it('refuses a write in a read session', async () => {
      await expect(
        subject.access.read((warehouse) => warehouse.execute(`delete from ${t()} where true`)),
      ).rejects.toMatchObject({ code: 'WAREHOUSE.READ_ONLY' });
      const [row] = await subject.access.read((warehouse) => warehouse.query(`select count(*) as n from ${t()}`));
      expect(row).toEqual({ n: 3 });
    });

    it('rolls a failing transaction back whole', async () => {
      await expect(
        subject.access.write((warehouse) =>
          warehouse.transaction(async (tx) => {
            await tx.execute(`delete from ${t()} where customer_id = ?`, ['c1']);
            await tx.execute(`insert into ${t()} (order_id, quantity) values (?, cast(? as int64))`, [
              'o9',
              'not a number',
            ]);
          }),
        ),
      ).rejects.toThrow();
      const [row] = await subject.access.read((warehouse) => warehouse.query(`select count(*) as n from ${t()}`));
      expect(row).toEqual({ n: 3 });
    });

    it('replaces date partitions atomically, twice with the same result (idempotent)', async () => {
      const replace = (dates: string[], ids: string[]) =>
        subject.access.write(async (warehouse) => {
          await warehouse.execute(
            `create table if not exists ${p()} (customer_id string, snapshot_date date, churn_probability ${dialect.float64}, model_version string)`,
          );
          await warehouse.transaction(async (tx) => {
            await tx.execute(`delete from ${p()} where snapshot_date in (select * from unnest(?))`, [dates]);
            await tx.execute(
              `insert into ${p()} (customer_id, snapshot_date, churn_probability, model_version)
               select *, cast(? as date), 0.5, ? from unnest(?)`,
              [dates[0]!, 'v1', ids],
            );
          });
        });
      const snapshot = () =>
        subject.access.read((warehouse) =>
          warehouse.query(
            `select customer_id, cast(snapshot_date as string) as snapshot_date, model_version from ${p()} order by snapshot_date, customer_id`,
          ),
        );
      await replace(['2026-10-01'], ['c1', 'c2']);
      const first = await snapshot();
      await replace(['2026-10-01'], ['c1', 'c2']);
      expect(await snapshot()).toEqual(first);
      expect(first).toEqual([
        { customer_id: 'c1', snapshot_date: '2026-10-01', model_version: 'v1' },
        { customer_id: 'c2', snapshot_date: '2026-10-01', model_version: 'v1' },
      ]);
    });

    it('appends Float64 columns in bulk and reads numeric columns back as Float64Arrays', async () => {
      const double = dialect.float64;
      await subject.access.write(async (warehouse) => {
        await warehouse.execute(`create table ${names.table('scores')} (x ${double}, y ${double})`);
        await warehouse.appendNumbers({ table: 'scores', schema: subject.schema }, [
          Float64Array.from([1.5, 2.25, -3]),
          Float64Array.from([0.1, 0.2, 0.3]),
        ]);
      });
      const read = await subject.access.read((warehouse) =>
        warehouse.queryNumbers(`select x, y from ${names.table('scores')} order by x`),
      );
      expect(read.names).toEqual(['x', 'y']);
      expect(read.rowCount).toBe(3);
      expect([...read.columns[0]!]).toEqual([-3, 1.5, 2.25]);
      expect([...read.columns[1]!]).toEqual([0.3, 0.1, 0.2]);
    });

    it('streams numeric rows row-major, NULL as NaN, in batches that cover every row once', async () => {
      const double = dialect.float64;
      const table = names.table('scan');
      const rows = 5000;
      const k = Float64Array.from({ length: rows }, (_, i) => i);
      const y = Float64Array.from({ length: rows }, (_, i) => i / 7);
      await subject.access.write(async (warehouse) => {
        await warehouse.execute(`create table ${table} (k ${double}, y ${double})`);
        await warehouse.appendNumbers({ table: 'scan', schema: subject.schema }, [k, y]);
      });
      const seen = new Float64Array(rows * 3).fill(-1);
      let batches = 0;
      let count = 0;
      await subject.access.read((warehouse) =>
        warehouse.scanNumbers(
          `select k, case when k = ? then null else y end as y, k * 2 as twice from ${table} where k < ? order by k`,
          [3, rows],
          (batch) => {
            expect(batch.names).toEqual(['k', 'y', 'twice']);
            expect(batch.values.length).toBeGreaterThanOrEqual(batch.rows * 3);
            // Values are valid only during the visit: copy them out.
            seen.set(batch.values.subarray(0, batch.rows * 3), count * 3);
            count += batch.rows;
            batches += 1;
          },
        ),
      );
      expect(count).toBe(rows);
      expect(batches).toBeGreaterThan(1);
      for (let i = 0; i < rows; i++) {
        expect(seen[i * 3]).toBe(i);
        if (i === 3) expect(seen[i * 3 + 1]).toBeNaN();
        else expect(seen[i * 3 + 1]).toBe(i / 7);
        expect(seen[i * 3 + 2]).toBe(2 * i);
      }
      let empty = 0;
      await subject.access.read((warehouse) =>
        warehouse.scanNumbers(`select k from ${table} where k < 0`, undefined, () => (empty += 1)),
      );
      expect(empty).toBe(0);
      await expect(
        subject.access.read((warehouse) =>
          warehouse.scanNumbers(`select k, 'text' as label from ${table}`, undefined, () => undefined),
        ),
      ).rejects.toMatchObject({ code: 'WAREHOUSE.NOT_NUMERIC' });
    });

    it('calls a JavaScript number function from SQL where the engine can: NULL as NaN, every row once, in a transaction', async () => {
      const double = dialect.float64;
      const table = names.table('fn_rows');
      const out = names.table('fn_out');
      const rows = 5000;
      const k = Float64Array.from({ length: rows }, (_, i) => i);
      const y = Float64Array.from({ length: rows }, (_, i) => i / 7);
      await subject.access.write(async (warehouse) => {
        await warehouse.execute(`create table ${table} (k ${double}, y ${double})`);
        await warehouse.appendNumbers({ table: 'fn_rows', schema: subject.schema }, [k, y]);
      });
      let seen = 0;
      const fn = {
        arity: 2,
        compute(columns: readonly Float64Array[], n: number, values: Float64Array) {
          seen += n;
          for (let r = 0; r < n; r++) {
            const [a, b] = [columns[0]![r]!, columns[1]![r]!];
            values[r] = Number.isNaN(b) ? -a : a + 2 * b;
          }
        },
      };
      const supported = await subject.access.write(async (warehouse) => {
        // An engine that cannot has no such method; its callers keep their set-based path.
        if (!warehouse.withNumberFunction) return false;
        let spelled = '';
        await warehouse.transaction((tx) =>
          tx.withNumberFunction!(fn, async (call) => {
            spelled = `select ${call(['k', 'y'])} as v from ${table}`;
            expect(() => call(['k'])).toThrow(expect.objectContaining({ code: 'WAREHOUSE.BAD_FUNCTION' }));
            await tx.execute(
              `create table ${out} as select k, ${call(['k', `case when k = 3 then null else y end`])} as v from ${table} where k < ?`,
              [rows],
            );
          }),
        );
        // Lent only while its work runs: afterwards the same SQL fails.
        await expect(warehouse.query(spelled)).rejects.toThrow();
        // A function that throws fails the statement, and the transaction leaves nothing.
        const failing = {
          arity: 1,
          compute: () => {
            throw new Error('model exploded');
          },
        };
        await expect(
          warehouse.transaction((tx) =>
            tx.withNumberFunction!(failing, (call) =>
              tx.execute(`create table ${names.table('fn_failed')} as select ${call(['k'])} as v from ${table}`),
            ),
          ),
        ).rejects.toThrow(/model exploded/);
        expect((await warehouse.describeSchema(subject.schema)).tables.has('fn_failed')).toBe(false);
        return true;
      });
      if (!supported) return;
      expect(seen).toBe(rows);
      const read = await subject.access.read((warehouse) =>
        warehouse.queryNumbers(`select k, v from ${out} order by k`),
      );
      expect(read.rowCount).toBe(rows);
      for (let i = 0; i < rows; i++) expect(read.columns[1]![i]).toBe(i === 3 ? -3 : i + 2 * (i / 7));
    });

    it('spells the float and instant types of its dialect, for DDL and casts', async () => {
      const table = names.table('instants');
      await subject.access.write(async (warehouse) => {
        await warehouse.execute(`create table ${table} (x ${dialect.float64}, seen_at ${dialect.timestamp})`);
        await warehouse.execute(
          `insert into ${table} (x, seen_at) select cast(? as ${dialect.float64}), cast(? as ${dialect.timestamp})
           union all select cast(? as ${dialect.float64}), cast(? as ${dialect.timestamp})`,
          ['1.5', '2026-10-01T08:00:00.000Z', 2, '2026-10-01T10:00:00+02:00'],
        );
      });
      const [rows, numbers] = await subject.access.read(async (warehouse) => [
        await warehouse.query(
          `select seen_at, least(seen_at, cast(? as ${dialect.timestamp})) as first from ${table} order by x`,
          ['2026-10-01T07:00:00Z'],
        ),
        await warehouse.queryNumbers(`select x from ${table} order by x`),
      ]);
      expect(rows).toEqual([
        { seen_at: '2026-10-01T08:00:00.000Z', first: '2026-10-01T07:00:00.000Z' },
        { seen_at: '2026-10-01T08:00:00.000Z', first: '2026-10-01T07:00:00.000Z' },
      ]);
      expect([...numbers.columns[0]!]).toEqual([1.5, 2]);
    });

    it('names each row by its row id where the engine has one, and says so where it has none', async () => {
      if (dialect.rowId === undefined) {
        expect(name).toBe('BigQuery');
        return;
      }
      const ids = await subject.access.read((warehouse) =>
        warehouse.queryNumbers(
          `select cast(${dialect.rowId} as ${dialect.float64}) as r from ${t()} order by order_id`,
        ),
      );
      expect(new Set(ids.columns[0]).size).toBe(ids.rowCount);
      const [row] = await subject.access.read((warehouse) =>
        warehouse.query(`select order_id from ${t()} where ${dialect.rowId} = cast(? as int64)`, [ids.columns[0]![1]!]),
      );
      expect(row).toEqual({ order_id: 'o2' });
    });

    it('appends string and number columns, to a table and to a temporary table of a transaction', async () => {
      const table = names.table('labels');
      const hostile = "c'; drop table labels; --";
      await subject.access.write(async (warehouse) => {
        await warehouse.execute(`create table ${table} (customer_id string, day string, p ${dialect.float64})`);
        // Date-shaped and other strings in one column stay strings.
        await warehouse.appendColumns({ table: 'labels', schema: subject.schema }, [
          ['c1', hostile],
          ['2026-10-01', 'not a date'],
          Float64Array.from([0.25, 0.5]),
        ]);
        await warehouse.transaction(async (tx) => {
          await tx.execute(`create temp table staged__ (customer_id string, day string, p ${dialect.float64})`);
          await tx.appendColumns({ table: 'staged__', temporary: true }, [
            ['c3', 'c4'],
            ['2026-10-02', '2026-10-03'],
            Float64Array.from([0.75, 1]),
          ]);
          await tx.execute(`insert into ${table} (customer_id, day, p) select customer_id, day, p from staged__`);
        });
      });
      const rows = await subject.access.read((warehouse) =>
        warehouse.query(`select customer_id, day, p from ${table} order by p`),
      );
      expect(rows).toEqual([
        { customer_id: 'c1', day: '2026-10-01', p: 0.25 },
        { customer_id: hostile, day: 'not a date', p: 0.5 },
        { customer_id: 'c3', day: '2026-10-02', p: 0.75 },
        { customer_id: 'c4', day: '2026-10-03', p: 1 },
      ]);
      await expect(
        subject.access.write((warehouse) =>
          warehouse.appendColumns({ table: 'labels', schema: subject.schema }, [['c5'], Float64Array.from([1, 2])]),
        ),
      ).rejects.toMatchObject({ code: 'WAREHOUSE.BAD_APPEND' });
    });

    it('changes the version after a write session and not after a read', async () => {
      const before = await subject.access.version();
      await subject.access.read((warehouse) => warehouse.query(`select count(*) as n from ${t()}`));
      expect(await subject.access.version()).toBe(before);
      // Modification times have millisecond resolution: let the clock move.
      await new Promise((resolve) => setTimeout(resolve, 5));
      await subject.access.write((warehouse) =>
        warehouse.execute(`insert into ${t()} (order_id, quantity) values (?, ?)`, ['o4', 4]),
      );
      expect(await subject.access.version()).not.toBe(before);
    });
  });
}
