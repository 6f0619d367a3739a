import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDuckDbWarehouse, releaseDuckDbFile } from '@mlops/adapters-local';
import type { Warehouse } from '@mlops/kernel';

let folder: string;
let path: string;
let writer: Warehouse;

beforeAll(async () => {
  folder = mkdtempSync(join(tmpdir(), 'duckdb-warehouse-test-'));
  path = join(folder, 'warehouse.duckdb');
  writer = await openDuckDbWarehouse({ path });
  await writer.execute(`create table t as
    select i, 'id_' || i as name, date '2026-01-01' + i::integer as day, case when i % 3 = 0 then null else i * 1.5 end as amount,
           (i * 1000000000000)::hugeint * 1000000 as huge, [i, i + 1] as pair
    from range(5) r(i)`);
});
afterAll(async () => {
  await writer.close();
  releaseDuckDbFile(path);
  rmSync(folder, { recursive: true, force: true });
});

describe('DuckDB warehouse: results by column', () => {
  it('gives the same values as rows, column by column, in row order', async () => {
    const sql = 'select i, name, day, amount, huge, pair from t order by i';
    const rows = await writer.query(sql);
    const columns = await writer.queryColumns(sql);
    expect(columns.names).toEqual(['i', 'name', 'day', 'amount', 'huge', 'pair']);
    expect(columns.rowCount).toBe(5);
    columns.names.forEach((name, index) => {
      expect(columns.columns[index], name).toEqual(rows.map((row) => row[name]));
    });
    // Dates as YYYY-MM-DD, nulls as null, integers too big for a double as their digits.
    expect(columns.columns[2]![1]).toBe('2026-01-02');
    expect(columns.columns[3]![0]).toBeNull();
    expect(columns.columns[4]![4]).toBe('4000000000000000000');
  });

  it('answers an empty result with empty columns', async () => {
    const columns = await writer.queryColumns('select i, name from t where i < 0');
    expect(columns).toEqual({ names: ['i', 'name'], columns: [[], []], rowCount: 0 });
  });

  it('refuses anything but a query on a read-only connection', async () => {
    const reader = await openDuckDbWarehouse({ path, readOnly: true });
    await expect(reader.queryColumns('delete from t')).rejects.toThrow(/read-only/);
    expect((await reader.queryColumns('select count(*) as n from t')).columns[0]).toEqual([5]);
    await reader.close();
  });
});

describe('DuckDB warehouse: numbers in bulk', () => {
  it('reads DOUBLE columns as Float64Arrays across chunks, NULL as NaN, in row order', async () => {
    const result = await writer.queryNumbers(
      'select i::double as i, case when i % 1000 = 7 then null else i / 4 end::double as q from range(5000) r(i) order by i',
    );
    expect(result.names).toEqual(['i', 'q']);
    expect(result.rowCount).toBe(5000);
    expect(result.columns[0]).toBeInstanceOf(Float64Array);
    expect(Array.from(result.columns[0]!.subarray(4095, 4098))).toEqual([4095, 4096, 4097]);
    expect(result.columns[1]![4001]).toBe(4001 / 4);
    expect(result.columns[1]![7]).toBeNaN();
    expect(result.columns[1]![4007]).toBeNaN();
    expect(await writer.queryNumbers('select 1.5::double as x where false')).toEqual({
      names: ['x'],
      columns: [new Float64Array(0)],
      rowCount: 0,
    });
  });

  it('refuses a column that is not DOUBLE, naming it', async () => {
    await expect(writer.queryNumbers('select i, name from t')).rejects.toMatchObject({
      code: 'WAREHOUSE.NOT_NUMERIC',
      message: expect.stringMatching(/i is BIGINT/),
    });
  });

  it('appends Float64 columns exactly, inside a transaction that can roll them back', async () => {
    await writer.execute('create table scores (k double, p double)');
    const k = Float64Array.from({ length: 5000 }, (_, i) => i);
    const p = Float64Array.from({ length: 5000 }, (_, i) => 1 / (i + 3));
    await writer.transaction(async (tx) => {
      await tx.appendNumbers({ table: 'scores' }, [k, p]);
      const [inside] = await tx.query<{ n: number }>('select count(*) as n from scores');
      expect(inside!.n).toBe(5000);
    });
    const back = await writer.queryNumbers('select k, p from scores order by k');
    expect(back.columns[1]).toEqual(p);
    await expect(
      writer.transaction(async (tx) => {
        await tx.appendNumbers({ table: 'scores' }, [k, p]);
        throw new Error('undo');
      }),
    ).rejects.toThrow('undo');
    const [after] = await writer.query<{ n: number }>('select count(*) as n from scores');
    expect(after!.n).toBe(5000);
    await expect(writer.appendNumbers({ table: 'scores' }, [k, p.subarray(1)])).rejects.toMatchObject({
      code: 'WAREHOUSE.BAD_APPEND',
    });
    const reader = await openDuckDbWarehouse({ path, readOnly: true });
    await expect(reader.appendNumbers({ table: 'scores' }, [k, p])).rejects.toThrow(/read-only/);
    await reader.close();
  });
});

describe('DuckDB warehouse: number functions', () => {
  it('hands every chunk of a long statement its arguments, NULL as NaN at any row of a word, and writes each result', async () => {
    // 10,000 rows: several chunks of 2,048 and a partial one; NULLs in the first, a middle and the
    // last bit of 32-row words of the validity mask.
    const fn = {
      arity: 2,
      compute(columns: readonly Float64Array[], rows: number, out: Float64Array) {
        const [a, b] = columns as [Float64Array, Float64Array];
        for (let r = 0; r < rows; r++) out[r] = Number.isNaN(b[r]!) ? -a[r]! : a[r]! + b[r]! / 8;
      },
    };
    const rows = await writer.withNumberFunction!(fn, (call) =>
      writer.queryNumbers(
        `select i::double as i, ${call(['i', 'case when i % 32 in (0, 17, 31) or i % 1000 = 999 then null else i * 3 end'])} as v
         from range(10000) r(i) order by i`,
      ),
    );
    expect(rows.rowCount).toBe(10000);
    for (let i = 0; i < 10000; i++) {
      const isNull = [0, 17, 31].includes(i % 32) || i % 1000 === 999;
      expect(rows.columns[1]![i]).toBe(isNull ? -i : i + (i * 3) / 8);
    }
  });
  it("frees each chunk's argument copies when its call returns, not at a later collection", async () => {
    // The binding copies every argument vector into a new buffer; the dispatcher detaches them after
    // the call (their memory is freed at once), so a view kept past the call is empty.
    const kept: Float64Array[] = [];
    const sizes: number[] = [];
    const fn = {
      arity: 2,
      compute(columns: readonly Float64Array[], rows: number, out: Float64Array) {
        kept.push(...columns);
        sizes.push(...columns.map((column) => column.length));
        for (let r = 0; r < rows; r++) out[r] = columns[0]![r]! - columns[1]![r]!;
      },
    };
    const rows = await writer.withNumberFunction!(fn, (call) =>
      writer.queryNumbers(
        `select ${call(['i', 'case when i % 7 = 0 then null else 2 * i end'])} as v from range(5000) r(i) order by i`,
      ),
    );
    expect(rows.columns[0]![3]).toBe(-3);
    expect(rows.columns[0]![7]).toBeNaN();
    expect(sizes).toEqual([2048, 2048, 2048, 2048, 904, 904]);
    expect(kept.map((column) => column.length)).toEqual([0, 0, 0, 0, 0, 0]);
  });
});

describe('DuckDB warehouse: memory', () => {
  it('gives memory back to the system after each task on a read-write file too, not only past 128 MB', async () => {
    const [row] = await writer.query<{ flush: string; background: boolean }>(
      "select current_setting('allocator_flush_threshold') as flush, current_setting('allocator_background_threads') as background",
    );
    expect(row!.flush).toBe('7.6 MiB');
    expect(row!.background).toBe(true);
  });
});
