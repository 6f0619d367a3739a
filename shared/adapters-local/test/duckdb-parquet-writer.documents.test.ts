import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbParquetWriter, openDuckDbWarehouse, type DuckDbWarehouse } from '@mlops/adapters-local';
import { SALES_BRONZE_COLUMNS, generateSalesOrders } from '@mlops/synthetic';
import {
  type DocumentColumns,
  type DocumentValue,
  type ParquetColumn,
  type ParquetFileInfo,
  type ParquetValue,
  type StoredDocument,
} from '@mlops/kernel';
import { plainDocument } from '../src/duckdb-parquet-writer.adapter.js';
import { tempDir } from '@mlops/testing/suites';

function referenceRow(
  document: StoredDocument,
  columns: readonly ParquetColumn[],
  layout: DocumentColumns,
): Record<string, ParquetValue> {
  const types = new Map(
    columns
      .filter((column) => column.name !== layout.idColumn && column.name !== layout.extraColumn)
      .map((column) => [column.name, column.type]),
  );
  const fit = (value: DocumentValue, type: ParquetColumn['type']): ParquetValue | undefined => {
    if (value === null) return null;
    if (type === 'VARCHAR')
      return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : undefined;
    if (type === 'DOUBLE') return typeof value === 'number' ? value : undefined;
    if (type === 'BIGINT') return typeof value === 'number' && Number.isSafeInteger(value) ? value : undefined;
    return typeof value === 'boolean' ? value : undefined;
  };
  const row: Record<string, ParquetValue> = Object.fromEntries(columns.map((column) => [column.name, null]));
  const extra: Record<string, DocumentValue> = {};
  for (const [field, value] of Object.entries(document.data)) {
    const type = types.get(field);
    const fitted = type === undefined ? undefined : fit(value, type);
    if (fitted === undefined) extra[field] = value;
    else row[field] = fitted;
  }
  row[layout.idColumn] = document.id;
  row[layout.extraColumn] = Object.keys(extra).length > 0 ? JSON.stringify(extra) : null;
  return row;
}

describe('DuckDB Parquet writer: files of JSON documents', () => {
  const dir = tempDir('mlops-parquet-docs-');
  const layout: DocumentColumns = { idColumn: '_document_id', extraColumn: '_extra_json' };
  let writer: DuckDbParquetWriter;
  let reader: DuckDbWarehouse;
  beforeAll(async () => {
    writer = new DuckDbParquetWriter({ threads: 2 });
    reader = await openDuckDbWarehouse({ path: ':memory:' });
  });
  afterAll(async () => {
    await writer.close();
    await reader.close();
    dir.remove();
  });

  // A dirty day as sales-gen writes it, then every kind of value that fits no column.
  const generated = [
    ...generateSalesOrders({
      seed: 7,
      scale: 0.2,
      dirtyShare: 0.05,
      piiHmacKey: 'test-key-0123456789',
      date: '2026-03-03',
    }),
  ];
  const day = generated.map((record) => ({ id: record.id, data: record.data }));
  const base = day[0]!.data;
  const odd: Record<string, DocumentValue>[] = [
    { quantity: 'two', unit_price_usd: '9.99', coupon: { code: 'SPRING', pct: 5 } },
    { quantity: 2.5, discount_pct: true, order_ts: 1772524800000, customer_signup_date: 20260303.5 },
    { quantity: 9007199254740992, gross_amount_usd: -12, net_amount_usd: 0.1 + 0.2 },
    { quantity: -9007199254740991, product_name: { en: 'Rug' }, category: ['home'], status: false, channel: null },
    {
      customer_region: 'we"st \\ \n \t 🚀 Zoë 東京 \u2028 /',
      '1': 'a numeric key',
      'weird "key"': 'w',
      empty: {},
      list: [],
    },
    { _document_id: 'inner', _extra_json: null, nothing: null },
    {},
  ];
  const documents: StoredDocument[] = [
    ...day,
    ...odd.map((fields, i) => ({
      id: `odd-${i} "quoted" \\ id`,
      data: i === odd.length - 1 ? {} : { ...base, ...fields },
    })),
  ];
  const plainText = JSON.stringify(base);
  // Texts at the edge of the plain form, which it takes: the bytes must not change.
  const plainEdges = [
    { quantity: 12.0 },
    { unit_price_usd: -0 },
    { discount_pct: 0.1 + 0.2 },
    { unit_price_usd: 1234567.0625 },
    { customer_region: 'Zoë 東京 🚀 \u2028 /' },
    { customer_region: '' },
  ].map((fields) => JSON.stringify({ ...base, ...fields }));
  // Texts the plain way must not take: values that look like a number column's text, reordered or
  // spaced fields, escapes, numbers JavaScript never writes, and JSON types the columns cannot hold.
  const notPlain: string[] = [
    ...[
      { unit_price_usd: { value: 1 } },
      { quantity: [1] },
      { gross_amount_usd: [1, 2] },
      { quantity: true },
      { net_amount_usd: 'x' },
      { quantity: 1e21 },
      { unit_price_usd: 1e21 },
      { unit_price_usd: 5e-324 },
      { customer_region: 'a\u0001b' },
      { order_ts: 1772524800000 },
      { quantity: null },
    ].map((fields) => JSON.stringify({ ...base, ...fields })),
    plainText.replace('{', '{ ').replace(',"quantity":', ' , "quantity" : '),
    plainText.replace(/"quantity":\d+/, '"quantity":12345678901234567890'),
    plainText.replace(/"quantity":\d+/, '"quantity":1E2'),
    plainText.replace(/"quantity":\d+/, '"quantity":-0'),
    plainText.replace(/"unit_price_usd":[^,]+/, '"unit_price_usd":1.50'),
    plainText.replace(/"customer_region":"[^"]*"/, '"customer_region":"\\u0041"'),
    plainText.replace(/"order_id":"[^"]*",("customer_id":"[^"]*")/, '$1,"order_id":"moved"'),
    plainText.replace('}', ',"order_id":"twice"}'),
    JSON.stringify(Object.fromEntries(Object.entries(base).reverse())),
  ];
  const json = (list: readonly StoredDocument[]) =>
    list.map((document) => ({ id: document.id, json: JSON.stringify(document.data) }));

  const plain = plainDocument(
    SALES_BRONZE_COLUMNS.filter((column) => column.name !== layout.idColumn && column.name !== layout.extraColumn),
  )!;

  /**
   * Write `texts` by the shared writer (plain documents staged as stored) to `plain-<name>.parquet`
   * and by one that converts every document by the rule to `exact-<name>.parquet`, `batch` texts a
   * write; expects the two files' bytes equal and returns both files (plain first).
   */
  const bothWays = async (
    name: string,
    columns: readonly ParquetColumn[],
    texts: readonly { id: string; json: string }[],
    batch = texts.length,
  ): Promise<ParquetFileInfo[]> => {
    const exactWriter = new DuckDbParquetWriter({ threads: 2, plainDocuments: false });
    const files: ParquetFileInfo[] = [];
    try {
      for (const [way, w] of [
        ['plain', writer],
        ['exact', exactWriter],
      ] as const) {
        const file = await w.createFromDocuments(join(dir.path, `${way}-${name}.parquet`), columns, layout);
        for (let i = 0; i < texts.length; i += batch) await file.write(texts.slice(i, i + batch));
        files.push(await file.finish());
      }
    } finally {
      await exactWriter.close();
    }
    const hash = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
    expect(hash(files[0]!.path)).toBe(hash(files[1]!.path));
    return files;
  };

  it('converts documents as the reference rule does, and writes the very bytes the same rows written as rows give', async () => {
    const fromDocuments = await writer.createFromDocuments(
      join(dir.path, 'documents.parquet'),
      SALES_BRONZE_COLUMNS,
      layout,
    );
    for (let i = 0; i < documents.length; i += 333) await fromDocuments.write(json(documents.slice(i, i + 333)));
    const documentsFile = await fromDocuments.finish();
    expect(documentsFile.rows).toBe(documents.length);

    const expected = documents.map((document) => referenceRow(document, SALES_BRONZE_COLUMNS, layout));
    // Both kinds are in the file: most generated documents are plain, dirty ones and the odd ones are not.
    expect(documents.filter((document) => !plain.test(JSON.stringify(document.data))).length).toBeGreaterThan(
      odd.length,
    );
    expect(expected.filter((row) => row._extra_json !== null)).toHaveLength(odd.length - 1);
    const fromRows = await writer.create(join(dir.path, 'rows.parquet'), SALES_BRONZE_COLUMNS);
    await fromRows.write(expected);
    const rowsFile = await fromRows.finish();

    const back = await reader.query(`select * from read_parquet('${documentsFile.path}')`);
    expect(back).toEqual(expected);
    const types = await reader.query(
      `select column_name, column_type from (describe select * from read_parquet('${documentsFile.path}'))`,
    );
    expect(types).toEqual(
      SALES_BRONZE_COLUMNS.map((column) => ({ column_name: column.name, column_type: column.type })),
    );
    const hash = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
    expect(hash(documentsFile.path)).toBe(hash(rowsFile.path));
  });

  it('writes the same bytes whether plain documents are staged as stored or every document is converted by the rule', async () => {
    const edges = [...plainEdges, ...notPlain];
    const mixed = [
      ...json(day.slice(0, 2000)),
      ...edges.map((text, i) => ({ id: `text-${i}`, json: text })),
      ...json(documents.slice(2000)),
    ];
    const files = await bothWays('mixed', SALES_BRONZE_COLUMNS, mixed, 500);
    expect(files.map((info) => info.rows)).toEqual([mixed.length, mixed.length]);
    // And the reference rule, for the texts JSON.parse reads as JSON.stringify would write them.
    const back = await reader.query(
      `select * from read_parquet('${join(dir.path, 'plain-mixed.parquet')}') where _document_id like 'text-%' order by _document_id`,
    );
    for (const row of back) {
      const text = edges[Number(String(row._document_id).slice(5))]!;
      const data = JSON.parse(text) as StoredDocument['data'];
      if (JSON.stringify(data) !== text) continue;
      // The same JSON value in _extra_json; the engine spells an exponent its own way.
      const { _extra_json: extra, ...expected } = referenceRow(
        { id: String(row._document_id), data },
        SALES_BRONZE_COLUMNS,
        layout,
      );
      expect({ ...row, _extra_json: JSON.parse(String(row._extra_json)) }).toEqual({
        ...expected,
        _extra_json: JSON.parse(String(extra)),
      });
    }
  });

  it('stages plain documents whose ids JSON must escape, or that are not ASCII, the same both ways', async () => {
    const ids = [
      'say "hi"',
      'back\\slash',
      'tab\there',
      'bell\u0007',
      'del\u007f',
      'Zoë',
      '東京',
      '🚀',
      'a\u2028b',
      ' ',
    ];
    const texts = json(day.slice(0, ids.length));
    expect(texts.every((text) => plain.test(text.json))).toBe(true);
    const odd = texts.map((text, i) => ({ id: ids[i]!, json: text.json }));
    await bothWays('ids', SALES_BRONZE_COLUMNS, odd);
    const back = await reader.query(`select _document_id from read_parquet('${join(dir.path, 'plain-ids.parquet')}')`);
    expect(back.map((row) => row._document_id)).toEqual(ids);
  });

  it('reads the generated documents the plain way, and none of the texts the plain way must not take', () => {
    const clean = day.filter((_document, i) => !generated[i]!.dirty);
    expect(clean.length).toBeGreaterThan(100);
    expect(clean.filter((document) => !plain.test(JSON.stringify(document.data)))).toEqual([]);
    expect(documents.slice(day.length).filter((document) => plain.test(JSON.stringify(document.data)))).toEqual([]);
    expect(notPlain.filter((text) => plain.test(text))).toEqual([]);
    expect(plainEdges.filter((text) => !plain.test(text))).toEqual([]);
    expect(plainDocument([])).toBeUndefined();
  });

  it("reads fields named like the staging keys and the query's own names, and a long document, the same both ways", async () => {
    const own: ParquetColumn[] = [
      { name: '_document_id', type: 'VARCHAR' },
      { name: 'i', type: 'VARCHAR' },
      { name: 'd', type: 'DOUBLE' },
      { name: 'f0', type: 'BIGINT' },
      { name: 'i_', type: 'BOOLEAN' },
      { name: '_extra_json', type: 'VARCHAR' },
    ];
    const data: StoredDocument['data'][] = [
      // Longer than a third of the staging buffer: staged on its own, whichever way it is read.
      { i: 'x'.repeat(1_500_000), d: 0, f0: 0, i_: false },
      { i: 'a', d: 1.5, f0: 3, i_: true },
      { i: 'b', d: 2, f0: -7, i_: false },
      { i: 'c', d: 'x', f0: 2.5, i_: 1, extra: null },
      { d: 4, i: 'reordered', f0: 1, i_: true },
      { i: null, d: null, f0: null, i_: null },
    ];
    const mine = data.map((fields, n) => ({ id: `own-${n}`, data: fields }));
    for (const info of await bothWays('own', own, json(mine)))
      expect(await reader.query(`select * from read_parquet('${info.path}')`)).toEqual(
        mine.map((document) => referenceRow(document, own, layout)),
      );
    expect(data.slice(0, 3).map((fields) => plainDocument(own.slice(1, -1))!.test(JSON.stringify(fields)))).toEqual([
      true,
      true,
      true,
    ]);
  });

  it('converts files finished one after another in turn, whatever the number of lanes, and carries on after a file fails', async () => {
    for (const conversions of [1, 2]) {
      const lanes = new DuckDbParquetWriter({ conversions });
      try {
        const finishing: Promise<{ rows: number; path: string }>[] = [];
        for (let part = 0; part < 5; part += 1) {
          // Each new file may wait for room; none waits forever, and the files come out whole.
          const file = await lanes.createFromDocuments(
            join(dir.path, `lanes-${conversions}-${part}.parquet`),
            SALES_BRONZE_COLUMNS,
            layout,
          );
          await file.write(json(day.slice(part * 30, part * 30 + 30)));
          finishing.push(file.finish());
        }
        // A file whose folder vanished before it was converted fails alone.
        const gone = join(dir.path, `lanes-${conversions}-gone`);
        mkdirSync(gone);
        const lost = await lanes.createFromDocuments(join(gone, 'lost.parquet'), SALES_BRONZE_COLUMNS, layout);
        await lost.write(json(day.slice(0, 10)));
        rmSync(gone, { recursive: true });
        await expect(lost.finish()).rejects.toMatchObject({ code: 'PARQUET.WRITE_FAILED' });
        const after = await lanes.createFromDocuments(
          join(dir.path, `lanes-${conversions}-after.parquet`),
          SALES_BRONZE_COLUMNS,
          layout,
        );
        await after.write(json(day.slice(0, 10)));
        finishing.push(after.finish());
        const files = await Promise.all(finishing);
        expect(files.map((file) => file.rows)).toEqual([30, 30, 30, 30, 30, 10]);
        for (const [part, file] of files.slice(0, 5).entries()) {
          const ids = await reader.query(`select _document_id from read_parquet('${file.path}')`);
          expect(ids.map((row) => row._document_id)).toEqual(
            day.slice(part * 30, part * 30 + 30).map((document) => document.id),
          );
        }
      } finally {
        await lanes.close();
      }
      expect(
        readdirSync(dir.path).filter((name) => name.startsWith(`lanes-${conversions}-`) && !name.endsWith('.parquet')),
      ).toEqual([]);
    }
  });

  it('leaves only the Parquet file after finishing, and nothing after an abort, with both kinds of document staged', async () => {
    const both = json([...day.slice(0, 50), ...documents.slice(day.length)]);
    const finished = await writer.createFromDocuments(
      join(dir.path, 'staged-both.parquet'),
      SALES_BRONZE_COLUMNS,
      layout,
    );
    await finished.write(both);
    expect(readdirSync(dir.path).filter((name) => name.startsWith('staged-both'))).toEqual([
      'staged-both.parquet.staging.ndjson',
    ]);
    expect((await finished.finish()).rows).toBe(both.length);
    expect(readdirSync(dir.path).filter((name) => name.startsWith('staged-both'))).toEqual(['staged-both.parquet']);

    const aborted = await writer.createFromDocuments(
      join(dir.path, 'aborted-both.parquet'),
      SALES_BRONZE_COLUMNS,
      layout,
    );
    await aborted.write(both);
    await aborted.abort();
    expect(readdirSync(dir.path).filter((name) => name.startsWith('aborted-both'))).toEqual([]);
  });

  it('keeps the sign of a negative zero amount, which JavaScript writes without it', async () => {
    const text = JSON.stringify(base).replace(/"unit_price_usd":[^,]+/, '"unit_price_usd":-0');
    expect(plain.test(text)).toBe(false);
    const file = await writer.createFromDocuments(
      join(dir.path, 'negative-zero.parquet'),
      SALES_BRONZE_COLUMNS,
      layout,
    );
    await file.write([{ id: 'z', json: text }]);
    const { path } = await file.finish();
    expect(
      await reader.query(
        `select unit_price_usd, signbit(unit_price_usd) as negative, _extra_json from read_parquet('${path}')`,
      ),
    ).toEqual([{ unit_price_usd: -0, negative: true, _extra_json: null }]);
  });

  it.each([
    ['text that is not JSON', '{"order_id":"o1",', /document "broken" is not valid JSON/],
    ['a JSON array', '["o1"]', /document "broken" is not a JSON object/],
    ['JSON null', 'null', /document "broken" is not a JSON object/],
  ])('refuses %s, naming the document, and leaves nothing behind once aborted', async (_name, text, message) => {
    const file = await writer.createFromDocuments(join(dir.path, 'broken.parquet'), SALES_BRONZE_COLUMNS, layout);
    await file.write(json(day.slice(0, 10)));
    await expect(file.write([{ id: 'broken', json: text }])).rejects.toThrow(message);
    await file.abort();
    expect(readdirSync(dir.path).filter((name) => name.startsWith('broken'))).toEqual([]);
  });

  it('keeps numbers JavaScript writes with an exponent as its digits in text columns, and their value in _extra_json', async () => {
    const file = await writer.createFromDocuments(join(dir.path, 'exponents.parquet'), SALES_BRONZE_COLUMNS, layout);
    await file.write(
      json([
        { id: 'e', data: { order_ts: 1e21, customer_id: 1.5e-7, product_name: 0.000001, extra: [1e21, 'x\u001f'] } },
      ]),
    );
    const { path } = await file.finish();
    const [row] = await reader.query(
      `select order_ts, customer_id, product_name, _extra_json from read_parquet('${path}')`,
    );
    expect(row).toMatchObject({ order_ts: '1e+21', customer_id: '1.5e-7', product_name: '0.000001' });
    // The same JSON value; the engine spells the exponent and the escape its own way.
    expect(JSON.parse(row!._extra_json as string)).toEqual({ extra: [1e21, 'x\u001f'] });
  });

  it('writes an empty file for no documents, and leaves nothing behind when aborted', async () => {
    const empty = await writer.createFromDocuments(join(dir.path, 'none.parquet'), SALES_BRONZE_COLUMNS, layout);
    const { path } = await empty.finish();
    expect(await reader.query(`select count(*) as n from read_parquet('${path}')`)).toEqual([{ n: 0 }]);
    const aborted = await writer.createFromDocuments(
      join(dir.path, 'aborted-docs.parquet'),
      SALES_BRONZE_COLUMNS,
      layout,
    );
    await aborted.write(json(documents.slice(0, 10)));
    await aborted.abort();
    expect(readdirSync(dir.path).filter((name) => name.startsWith('aborted-docs'))).toEqual([]);
  });

  it.each([
    ['an id column that is not a column', { idColumn: 'id', extraColumn: '_extra_json' }],
    ['an extra column that is not VARCHAR', { idColumn: '_document_id', extraColumn: 'quantity' }],
    ['the same column for both', { idColumn: '_extra_json', extraColumn: '_extra_json' }],
  ])('refuses %s', async (_name, bad) => {
    await expect(
      writer.createFromDocuments(join(dir.path, 'bad-docs.parquet'), SALES_BRONZE_COLUMNS, bad),
    ).rejects.toMatchObject({ code: 'PARQUET.BAD_COLUMNS' });
  });
});
