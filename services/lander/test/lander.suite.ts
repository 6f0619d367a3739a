/**
 * The lander's behaviour against any DocumentStore: run it with the in-memory fake, the SQLite
 * store (lander.test.ts) and the Firestore emulator (same suite, another factory). The lake is a
 * real folder and the Parquet writer is DuckDB, read back with DuckDB.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DuckDbParquetWriter, FsObjectStore, openDuckDbWarehouse, type DuckDbWarehouse } from '@mlops/adapters-local';
import { SALES_BRONZE_COLUMNS, generateSalesOrders, partitionContentHash } from '@mlops/synthetic';
import {
  createLogger,
  dispatch,
  type AnyEvent,
  type DocumentStore,
  type DocumentValue,
  type StoredDocument,
  type WarehouseRow,
} from '@mlops/kernel';
import { RecordingPublisher, deliver, testEvent } from '@mlops/testing';
import { createLanderService, type LanderServiceDeps } from '../src/index.js';

/** A document store under test and how to dispose of it. */
export interface LanderSuiteFixture {
  readonly documents: DocumentStore;
  cleanup(): Promise<void>;
}

const settings = { seed: 42, scale: 0.3, dirtyShare: 0.05, piiHmacKey: 'test-key-0123456789' };
const date = '2026-03-03';
const previous = '2026-03-02';
let collections = 0;

function salesGenerated(collection: string, documentCount: number, runDate = date): AnyEvent {
  return testEvent(
    'mlops.sales.generated.v1',
    { runDate, collection, documentCount, dirtyCount: 0, scale: settings.scale, seed: settings.seed },
    runDate,
  );
}

/** The documents sales-gen writes for a date. */
function documentsOf(runDate: string): StoredDocument[] {
  return [...generateSalesOrders({ ...settings, date: runDate })].map((record) => ({
    id: record.id,
    data: record.data,
  }));
}

/** What a document becomes in bronze: its fields by column, numbers in text columns as their digits. */
function expectedRow(document: StoredDocument): WarehouseRow {
  const row: WarehouseRow = {};
  for (const column of SALES_BRONZE_COLUMNS) {
    if (column.name === '_document_id') row[column.name] = document.id;
    else if (column.name === '_extra_json') row[column.name] = null;
    else {
      const value = document.data[column.name];
      row[column.name] =
        value === undefined || value === null ? null : column.type === 'VARCHAR' ? String(value) : (value as number);
    }
  }
  return row;
}

/** Define the lander suite for one document store. */
export function landerSuite(
  name: string,
  create: () => Promise<LanderSuiteFixture>,
  options: { timeoutMs?: number } = {},
): void {
  describe(`lander on ${name}`, { timeout: options.timeoutMs ?? 30_000 }, () => {
    let fixture: LanderSuiteFixture;
    let lakeDir: string;
    let workDir: string;
    let objects: FsObjectStore;
    let parquet: DuckDbParquetWriter;
    let reader: DuckDbWarehouse;
    let collection: string;

    const lander = (overrides: Partial<LanderServiceDeps> = {}) =>
      createLanderService({
        documents: fixture.documents,
        objects,
        parquet,
        tempDir: workDir,
        pageSize: 200,
        ...overrides,
      });

    async function seed(runDate: string): Promise<StoredDocument[]> {
      const documents = documentsOf(runDate);
      for (let i = 0; i < documents.length; i += 400)
        await fixture.documents.upsertBatch(collection, documents.slice(i, i + 400));
      return documents;
    }

    async function readBack(key: string): Promise<WarehouseRow[]> {
      return reader.query(
        `select * from read_parquet('${objects.uri(key).replaceAll("'", "''")}', hive_partitioning = false)`,
      );
    }

    beforeAll(async () => {
      parquet = new DuckDbParquetWriter({ threads: 2 });
      reader = await openDuckDbWarehouse({ path: ':memory:' });
    });
    afterAll(async () => {
      await parquet.close();
      await reader.close();
    });
    beforeEach(async () => {
      fixture = await create();
      lakeDir = mkdtempSync(join(tmpdir(), 'mlops-lake-'));
      workDir = mkdtempSync(join(tmpdir(), 'mlops-lander-work-'));
      objects = new FsObjectStore({ root: lakeDir });
      collection = `sales_test_${process.pid}_${Date.now().toString(36)}_${(collections += 1)}`;
    });
    afterEach(async () => {
      await fixture.cleanup();
      rmSync(lakeDir, { recursive: true, force: true });
      rmSync(workDir, { recursive: true, force: true });
    });

    it("lands one run date's documents as Parquet that reads back equal to them, and announces the partition", async () => {
      const documents = await seed(date);
      await seed(previous);
      const published = await deliver(lander(), salesGenerated(collection, documents.length));
      const key = `bronze/sales/dt=${date}/part-00000.parquet`;
      const rows = await readBack(key);
      const expected = [...documents].sort((a, b) => (a.id < b.id ? -1 : 1)).map(expectedRow);
      expect(rows).toEqual(expected);
      const [landed] = published.ofType('mlops.bronze.landed.v1');
      const meta = (await objects.head(key))!;
      expect(landed!.data).toEqual({
        runDate: date,
        source: 'sales',
        format: 'parquet',
        prefix: `bronze/sales/dt=${date}/`,
        objects: [{ key, bytes: meta.bytes, sha256: meta.sha256, rows: documents.length }],
        rowCount: documents.length,
        bytes: meta.bytes,
        contentHash: partitionContentHash([{ key, sha256: meta.sha256 }]),
        loadType: 'daily',
      });
      expect(await objects.list(`bronze/sales/dt=${previous}/`)).toEqual([]);
      expect(readdirSync(workDir)).toEqual([]);
    });

    it('keeps dirty values: epoch millis as digits, negative amounts, nulls, duplicate order ids as separate rows', async () => {
      const documents = await seed(date);
      await deliver(lander(), salesGenerated(collection, documents.length));
      const rows = await readBack(`bronze/sales/dt=${date}/part-00000.parquet`);
      expect(rows.some((row) => typeof row.order_ts === 'string' && /^\d{13}$/.test(row.order_ts))).toBe(true);
      expect(
        rows.some((row) => typeof row.order_ts === 'string' && /^\d{2}\/\d{2}\/\d{4} \d{2}:\d{2}$/.test(row.order_ts)),
      ).toBe(true);
      expect(rows.some((row) => (row.net_amount_usd as number) < 0)).toBe(true);
      const orderIds = rows.map((row) => row.order_id).filter((id) => id !== null);
      expect(new Set(orderIds).size).toBeLessThan(orderIds.length);
    });

    it('keeps values that fit no column in _extra_json instead of dropping them', async () => {
      const documents = await seed(date);
      const odd: StoredDocument = {
        id: 'ord_odd',
        data: {
          ...documents[0]!.data,
          order_id: 'ord_odd',
          quantity: 'two',
          coupon: { code: 'SPRING', pct: 5 },
          unit_price_usd: '9.99',
        },
      };
      await fixture.documents.upsertBatch(collection, [odd]);
      await deliver(lander(), salesGenerated(collection, documents.length + 1));
      const rows = await readBack(`bronze/sales/dt=${date}/part-00000.parquet`);
      const row = rows.find((r) => r._document_id === 'ord_odd')!;
      expect(row).toMatchObject({ quantity: null, unit_price_usd: null, order_id: 'ord_odd' });
      // In the document's field order: unit_price_usd was already there, coupon is new.
      expect(row._extra_json).toBe('{"quantity":"two","unit_price_usd":"9.99","coupon":{"code":"SPRING","pct":5}}');
    });

    // Each misfit kind: the fields of the row it lands as, and its _extra_json text exactly.
    const misfits: [string, Record<string, DocumentValue>, WarehouseRow, string | null][] = [
      ['a string quantity', { quantity: '3' }, { quantity: null }, '{"quantity":"3"}'],
      ['a fractional quantity', { quantity: 2.5 }, { quantity: null }, '{"quantity":2.5}'],
      [
        'a quantity beyond the safe integers',
        { quantity: 9007199254740992 },
        { quantity: null },
        '{"quantity":9007199254740992}',
      ],
      ['a negative whole quantity', { quantity: -4 }, { quantity: -4 }, null],
      ['a string amount', { unit_price_usd: '9.99' }, { unit_price_usd: null }, '{"unit_price_usd":"9.99"}'],
      ['a whole-number amount', { gross_amount_usd: 12 }, { gross_amount_usd: 12 }, null],
      ['a boolean amount', { discount_pct: false }, { discount_pct: null }, '{"discount_pct":false}'],
      ['epoch millis in a text column', { order_ts: 1772524800000 }, { order_ts: '1772524800000' }, null],
      [
        'a fractional number in a text column',
        { customer_signup_date: 20260303.5 },
        { customer_signup_date: '20260303.5' },
        null,
      ],
      [
        'an object in a text column',
        { product_name: { en: 'Rug', fr: 'Tapis' } },
        { product_name: null },
        '{"product_name":{"en":"Rug","fr":"Tapis"}}',
      ],
      [
        'an array in a text column',
        { category: ['home', 'garden'] },
        { category: null },
        '{"category":["home","garden"]}',
      ],
      ['a boolean in a text column', { status: true }, { status: null }, '{"status":true}'],
      [
        'text with quotes, a backslash, a newline and emoji',
        { customer_region: 'we"st\\ \n 🚀 Zoë' },
        { customer_region: 'we"st\\ \n 🚀 Zoë' },
        null,
      ],
      ['a null field', { channel: null }, { channel: null }, null],
      [
        'unknown fields, in document order',
        { zeta: 1, coupon: { code: 'X', tags: ['a', null] }, note: 'n' },
        {},
        '{"zeta":1,"coupon":{"code":"X","tags":["a",null]},"note":"n"}',
      ],
      [
        'a field named like a bronze column',
        { _document_id: 'other', _extra_json: '{}' },
        {},
        '{"_document_id":"other","_extra_json":"{}"}',
      ],
      ['an unknown null field', { gift: null }, {}, '{"gift":null}'],
    ];
    it('lands every misfit kind exactly: the column null and the value in _extra_json, fitting values in their columns', async () => {
      const base = documentsOf(date)[0]!;
      const odd = misfits.map(([, fields], i) => ({
        id: `ord_misfit_${String(i).padStart(2, '0')}`,
        data: { ...base.data, ...fields },
      }));
      await fixture.documents.upsertBatch(collection, odd);
      await deliver(lander(), salesGenerated(collection, odd.length));
      const rows = await readBack(`bronze/sales/dt=${date}/part-00000.parquet`);
      expect(rows.map((row) => row._document_id)).toEqual(odd.map((document) => document.id));
      for (const [i, [name, , fields, extra]] of misfits.entries()) {
        const clean = expectedRow({ id: odd[i]!.id, data: base.data });
        expect(rows[i], name).toEqual({ ...clean, ...fields, _extra_json: extra });
      }
    });

    it('writes a part every rowsPerPart rows and removes stale parts when run again', async () => {
      const documents = await seed(date);
      const small = await deliver(lander({ rowsPerPart: 100 }), salesGenerated(collection, documents.length));
      const parts = Math.ceil(documents.length / 100);
      expect(small.ofType('mlops.bronze.landed.v1')[0]!.data.objects.map((o) => o.rows)).toEqual([
        ...Array.from({ length: parts - 1 }, () => 100),
        documents.length - (parts - 1) * 100,
      ]);
      expect((await objects.list(`bronze/sales/dt=${date}/`)).length).toBe(parts);
      const big = await deliver(lander(), salesGenerated(collection, documents.length));
      expect((await objects.list(`bronze/sales/dt=${date}/`)).map((meta) => meta.key)).toEqual([
        `bronze/sales/dt=${date}/part-00000.parquet`,
      ]);
      expect(big.ofType('mlops.bronze.landed.v1')[0]!.data.rowCount).toBe(documents.length);
    });

    it('is deterministic and idempotent: run twice, the same single partition with the same content hash', async () => {
      const documents = await seed(date);
      const first = await deliver(lander(), salesGenerated(collection, documents.length));
      const second = await deliver(lander(), salesGenerated(collection, documents.length));
      expect(second.ofType('mlops.bronze.landed.v1')[0]!.data.contentHash).toBe(
        first.ofType('mlops.bronze.landed.v1')[0]!.data.contentHash,
      );
      expect((await objects.list('bronze/')).map((meta) => meta.key)).toEqual([
        `bronze/sales/dt=${date}/part-00000.parquet`,
      ]);
    });

    it('refuses an empty day with LANDER.SOURCE_EMPTY and stage.failed, writing no file', async () => {
      await seed(previous);
      const publisher = new RecordingPublisher();
      const delivery = { messageId: '1', subscription: 'lander.sales-generated', attempt: 1, publishedAt: new Date() };
      await expect(
        dispatch(lander(), salesGenerated(collection, 0), delivery, publisher, createLogger({ sink: () => undefined })),
      ).rejects.toMatchObject({
        code: 'LANDER.SOURCE_EMPTY',
        errorClass: 'permanent',
      });
      expect(publisher.ofType('mlops.stage.failed.v1')[0]!.data).toMatchObject({
        stage: 'lander',
        code: 'LANDER.SOURCE_EMPTY',
        runDates: [date],
      });
      expect(publisher.ofType('mlops.bronze.landed.v1')).toEqual([]);
      expect(readdirSync(lakeDir)).toEqual([]);
      expect(readdirSync(workDir)).toEqual([]);
    });

    it('leaves nothing in bronze when reading fails half way (and the failure is retried)', async () => {
      const documents = await seed(date);
      const failing: DocumentStore = {
        ...fixture.documents,
        upsertBatch: (c, d) => fixture.documents.upsertBatch(c, d),
        get: (c, id) => fixture.documents.get(c, id),
        count: (c, o) => fixture.documents.count(c, o),
        deleteMany: (c, ids) => fixture.documents.deleteMany(c, ids),
        close: () => fixture.documents.close(),
        query: (c, o) => fixture.documents.query(c, o),
        async *queryJson(c, o) {
          let n = 0;
          for await (const page of fixture.documents.queryJson(c, o)) {
            if ((n += page.length) > 150) throw new Error('connection reset by peer');
            yield page;
          }
        },
      };
      await expect(
        deliver(lander({ documents: failing, rowsPerPart: 100 }), salesGenerated(collection, documents.length)),
      ).rejects.toThrow('connection reset');
      expect(readdirSync(lakeDir)).toEqual([]);
      expect(readdirSync(workDir)).toEqual([]);
    });
  });
}
