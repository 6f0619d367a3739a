import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbParquetWriter, openDuckDbWarehouse, type DuckDbWarehouse } from '@mlops/adapters-local';
import type { ParquetColumn, ParquetRow } from '@mlops/kernel';
import { tempDir } from '@mlops/testing/suites';

const columns: ParquetColumn[] = [
  { name: 'id', type: 'VARCHAR' },
  { name: 'amount', type: 'DOUBLE' },
  { name: 'quantity', type: 'BIGINT' },
  { name: 'flag', type: 'BOOLEAN' },
  { name: 'note', type: 'VARCHAR' },
];

const rows: ParquetRow[] = Array.from({ length: 5000 }, (_, i) => ({
  id: `row_${String(i).padStart(5, '0')}`,
  amount: i % 7 === 0 ? null : i * 1.25 - 100,
  quantity: i % 11 === 0 ? null : i,
  flag: i % 2 === 0,
  note: i === 3 ? 'quote \' double " emoji 🚀 <img src=x onerror=alert(1)>\nnewline' : i % 5 === 0 ? null : `n${i}`,
}));

describe.each(['ndjson', 'appender'] as const)('DuckDB Parquet writer (%s)', (strategy) => {
  const dir = tempDir('mlops-parquet-');
  let writer: DuckDbParquetWriter;
  let reader: DuckDbWarehouse;

  beforeAll(async () => {
    writer = new DuckDbParquetWriter({ strategy, threads: 2 });
    reader = await openDuckDbWarehouse({ path: ':memory:' });
  });
  afterAll(async () => {
    await writer.close();
    await reader.close();
    dir.remove();
  });

  async function write(name: string, data: readonly ParquetRow[], batch = 700): Promise<string> {
    const file = await writer.create(join(dir.path, name), columns);
    for (let i = 0; i < data.length; i += batch) await file.write(data.slice(i, i + batch));
    const info = await file.finish();
    expect(info.rows).toBe(data.length);
    expect(info.bytes).toBeGreaterThan(0);
    return info.path;
  }

  it('writes rows that DuckDB reads back unchanged, in order, with their types', async () => {
    const path = await write('roundtrip.parquet', rows);
    const back = await reader.query(`select * from read_parquet('${path}')`);
    expect(back).toEqual(
      rows.map((row) => ({ id: row.id, amount: row.amount, quantity: row.quantity, flag: row.flag, note: row.note })),
    );
    const types = await reader.query(
      `select column_name, column_type from (describe select * from read_parquet('${path}'))`,
    );
    expect(types).toEqual(columns.map((column) => ({ column_name: column.name, column_type: column.type })));
  });

  it('writes byte-identical files for the same rows', async () => {
    const a = await write('a.parquet', rows, 1000);
    const b = await write('b.parquet', rows, 333);
    const hash = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
    expect(hash(a)).toBe(hash(b));
  });

  it('writes the same bytes from a writer warmed up before its first file, and refuses to warm up once closed', async () => {
    const warmed = new DuckDbParquetWriter({ strategy, threads: 2 });
    await warmed.warmUp();
    const file = await warmed.create(join(dir.path, 'warmed.parquet'), columns);
    await file.write(rows);
    const info = await file.finish();
    await warmed.close();
    await expect(warmed.warmUp()).rejects.toMatchObject({ code: 'PARQUET.CLOSED' });
    const cold = await write('cold.parquet', rows);
    const hash = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
    expect(hash(info.path)).toBe(hash(cold));
  });

  it('treats a column missing from a row as null and accepts bigint values', async () => {
    const path = await write('sparse.parquet', [{ id: 'a' }, { id: 'b', quantity: 12n, amount: 1 }]);
    expect(await reader.query(`select id, amount, quantity, flag from read_parquet('${path}')`)).toEqual([
      { id: 'a', amount: null, quantity: null, flag: null },
      { id: 'b', amount: 1, quantity: 12, flag: null },
    ]);
  });

  it('writes an empty file when given no rows', async () => {
    const path = await write('empty.parquet', []);
    expect(await reader.query(`select count(*) as n from read_parquet('${path}')`)).toEqual([{ n: 0 }]);
  });

  it('leaves nothing behind when a file is aborted', async () => {
    const file = await writer.create(join(dir.path, 'aborted.parquet'), columns);
    await file.write(rows.slice(0, 100));
    await file.abort();
    expect(readdirSync(dir.path).filter((name) => name.startsWith('aborted'))).toEqual([]);
  });

  it.each([
    ['an unsafe column name', [{ name: 'id; drop table x', type: 'VARCHAR' }]],
    ['an unknown type', [{ name: 'id', type: 'JSON' }]],
    [
      'a repeated column',
      [
        { name: 'id', type: 'VARCHAR' },
        { name: 'id', type: 'DOUBLE' },
      ],
    ],
    ['no columns', []],
  ])('refuses %s', async (_name, bad) => {
    await expect(writer.create(join(dir.path, 'bad.parquet'), bad as ParquetColumn[])).rejects.toMatchObject({
      code: 'PARQUET.BAD_COLUMNS',
    });
    expect(existsSync(join(dir.path, 'bad.parquet'))).toBe(false);
  });
});

/**
 * The rule a file of documents follows (the port's `DocumentFileWriter`), written plainly over the
 * parsed document: the reference the engine's conversion must match row for row.
 */
