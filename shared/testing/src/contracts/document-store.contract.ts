import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DocumentStore, FieldFilter, JsonDocument, QueryOptions, StoredDocument } from '@mlops/kernel';

/** What a contract run needs from an adapter under test. */
export interface DocumentStoreFixture {
  /** A store with nothing in it (a fresh file, a fresh project). */
  store: DocumentStore;
  cleanup(): Promise<void>;
}

async function drain(iterable: AsyncIterable<StoredDocument>): Promise<StoredDocument[]> {
  const documents: StoredDocument[] = [];
  for await (const document of iterable) documents.push(document);
  return documents;
}

async function drainPages(iterable: AsyncIterable<readonly JsonDocument[]>): Promise<JsonDocument[][]> {
  const pages: JsonDocument[][] = [];
  for await (const page of iterable) pages.push([...page]);
  return pages;
}

const ids = (documents: readonly StoredDocument[]) => documents.map((document) => document.id);
const pad = (n: number) => String(n).padStart(5, '0');

/** Deterministic shuffle, so documents are never written in id order by accident. */
function shuffled<T>(items: readonly T[]): T[] {
  const result = [...items];
  let seed = 12345;
  for (let i = result.length - 1; i > 0; i -= 1) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    const j = seed % (i + 1);
    [result[i], result[j]] = [result[j]!, result[i]!];
  }
  return result;
}

/** Byte-wise order of UTF-8 strings: the order both engines keep ids in. */
function byId(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

function matches(value: unknown, filter: FieldFilter): boolean {
  if (typeof value !== typeof filter.value) return false;
  const order = typeof value === 'string' ? byId(value, filter.value as string) : Number(value) - Number(filter.value);
  return { '==': order === 0, '<': order < 0, '<=': order <= 0, '>': order > 0, '>=': order >= 0 }[filter.op];
}

/**
 * One behavioural suite every DocumentStore adapter must pass: idempotent upsert by id, values that
 * survive a round trip, queries by field with each operator, streaming page by page in id order,
 * limits, the same stream as JSON text page by page, counts, deletes, and clear errors for names that cannot work.
 */
export function documentStoreContract(
  name: string,
  create: () => Promise<DocumentStoreFixture>,
  options: { timeoutMs?: number } = {},
): void {
  const timeout = options.timeoutMs ?? 30_000;
  describe(`DocumentStore contract: ${name}`, () => {
    let fixture: DocumentStoreFixture;
    let store: DocumentStore;
    beforeEach(async () => {
      fixture = await create();
      store = fixture.store;
    });
    afterEach(async () => {
      await fixture.cleanup();
    });

    it('upserts by id: writing again replaces the document and leaves one copy', async () => {
      expect(
        await store.upsertBatch('orders', [
          { id: 'o-1', data: { amount: 10, note: 'first' } },
          { id: 'o-2', data: { amount: 20 } },
        ]),
      ).toBe(2);
      await store.upsertBatch('orders', [{ id: 'o-1', data: { amount: 11 } }]);
      await store.upsertBatch('orders', [{ id: 'o-2', data: { amount: 20 } }]);
      expect(await store.count('orders')).toBe(2);
      // Replaced, not merged: the field missing from the second write is gone.
      expect(await store.get('orders', 'o-1')).toEqual({ id: 'o-1', data: { amount: 11 } });
      // The same id twice in one call: the last one wins.
      await store.upsertBatch('orders', [
        { id: 'o-3', data: { v: 1 } },
        { id: 'o-3', data: { v: 2 } },
      ]);
      expect(await store.get('orders', 'o-3')).toEqual({ id: 'o-3', data: { v: 2 } });
      expect(await store.count('orders')).toBe(3);
    });

    it('keeps every JSON value a document may hold', async () => {
      const data: StoredDocument['data'] = {
        text: 'plain',
        unicode: 'Zoë – 東京 – 🚀',
        empty: '',
        integer: 42,
        negative: -7,
        float: 3.25,
        big: 9007199254740991,
        yes: true,
        no: false,
        nothing: null,
        list: [1, 'two', false, null, { three: 3 }],
        nested: { inner: { deeper: ['a', 'b'] }, count: 0 },
        emptyList: [],
        emptyObject: {},
      };
      await store.upsertBatch('values', [{ id: 'every-kind', data }]);
      expect(await store.get('values', 'every-kind')).toEqual({ id: 'every-kind', data });
      const [streamed] = await drain(store.query('values'));
      expect(streamed).toEqual({ id: 'every-kind', data });
    });

    it('returns nothing for a missing document, an empty collection or an empty batch', async () => {
      expect(await store.get('orders', 'absent')).toBeUndefined();
      expect(await drain(store.query('orders'))).toEqual([]);
      expect(await store.count('orders')).toBe(0);
      expect(await store.upsertBatch('orders', [])).toBe(0);
    });

    it('streams in id order, whatever order documents were written in', async () => {
      const names = ['b', 'a', 'B', 'A', '0', '9', '_x', 'a0', 'a-', 'aa', 'Z', 'z'];
      await store.upsertBatch(
        'names',
        names.map((id) => ({ id, data: { id } })),
      );
      expect(ids(await drain(store.query('names', { pageSize: 5 })))).toEqual([...names].sort(byId));
    });

    describe('queries by field', () => {
      const documents: StoredDocument[] = Array.from({ length: 40 }, (_, i) => ({
        id: `doc-${pad(i)}`,
        data: { n: i % 10, s: `s${i % 7}`, even: i % 2 === 0, half: i / 2 },
      }));
      beforeEach(async () => {
        await store.upsertBatch('items', shuffled(documents));
      });
      const cases: FieldFilter[] = [];
      for (const op of ['==', '<', '<=', '>', '>='] as const) {
        cases.push({ field: 'n', op, value: 4 }, { field: 's', op, value: 's3' }, { field: 'half', op, value: 7.5 });
      }
      cases.push(
        { field: 'even', op: '==', value: true },
        { field: 'even', op: '==', value: false },
        { field: 'n', op: '==', value: 99 },
      );

      for (const filter of cases) {
        it(`${filter.field} ${filter.op} ${JSON.stringify(filter.value)}: the matching documents in id order, and their count`, async () => {
          const expected = documents
            .filter((document) => matches(document.data[filter.field], filter))
            .map((document) => document.id);
          expect(ids(await drain(store.query('items', { where: [filter], pageSize: 6 })))).toEqual(expected);
          expect(await store.count('items', { where: [filter] })).toBe(expected.length);
        });
      }

      it('ANDs several conditions, equality and range together', async () => {
        const where: FieldFilter[] = [
          { field: 'even', op: '==', value: true },
          { field: 'n', op: '>=', value: 2 },
          { field: 'n', op: '<', value: 8 },
          { field: 's', op: '>', value: 's1' },
        ];
        const expected = documents
          .filter((document) => where.every((filter) => matches(document.data[filter.field], filter)))
          .map((document) => document.id);
        expect(expected.length).toBeGreaterThan(2);
        expect(ids(await drain(store.query('items', { where, pageSize: 3 })))).toEqual(expected);
        expect(await store.count('items', { where })).toBe(expected.length);
      });

      it('stops at the limit, across pages and within one', async () => {
        const all = documents.map((document) => document.id);
        expect(ids(await drain(store.query('items', { limit: 5, pageSize: 2 })))).toEqual(all.slice(0, 5));
        expect(ids(await drain(store.query('items', { limit: 3, pageSize: 100 })))).toEqual(all.slice(0, 3));
        expect(ids(await drain(store.query('items', { limit: 1000 })))).toEqual(all);
        expect(await drain(store.query('items', { limit: 0 }))).toEqual([]);
        const sparse = documents.filter((document) => document.data.n === 9).map((document) => document.id);
        expect(
          ids(await drain(store.query('items', { where: [{ field: 'n', op: '>', value: 8 }], limit: 3, pageSize: 4 }))),
        ).toEqual(sparse.slice(0, 3));
      });
    });

    it('compares values of the same type only, as Firestore does', async () => {
      await store.upsertBatch('mixed', [
        { id: 'number-1', data: { v: 1 } },
        { id: 'number-5', data: { v: 5 } },
        { id: 'string-5', data: { v: '5' } },
        { id: 'true', data: { v: true } },
        { id: 'false', data: { v: false } },
        { id: 'null', data: { v: null } },
        { id: 'list', data: { v: [1, 5] } },
        { id: 'object', data: { v: { x: 1 } } },
        { id: 'object-text', data: { v: '{"x":1}' } },
        { id: 'list-text', data: { v: '[1,5]' } },
        { id: 'missing', data: { w: 1 } },
      ]);
      const cases: [FieldFilter, string[]][] = [
        [{ field: 'v', op: '==', value: 1 }, ['number-1']],
        [{ field: 'v', op: '==', value: true }, ['true']],
        [{ field: 'v', op: '==', value: '5' }, ['string-5']],
        [{ field: 'v', op: '<', value: '9' }, ['string-5']],
        // A string that reads like an object or a list matches that string only, not the object or list.
        [{ field: 'v', op: '==', value: '{"x":1}' }, ['object-text']],
        [{ field: 'v', op: '==', value: '[1,5]' }, ['list-text']],
        [{ field: 'v', op: '>=', value: '[' }, ['list-text', 'object-text']],
        [{ field: 'v', op: '>', value: 0 }, ['number-1', 'number-5']],
        [{ field: 'v', op: '>=', value: false }, ['false', 'true']],
      ];
      for (const [filter, expected] of cases) {
        expect(ids(await drain(store.query('mixed', { where: [filter] }))), JSON.stringify(filter)).toEqual(expected);
        expect(await store.count('mixed', { where: [filter] }), JSON.stringify(filter)).toBe(expected.length);
      }
    });

    it(
      'streams a large collection page by page in id order, filters included',
      async () => {
        const documents = Array.from({ length: 1_234 }, (_, i) => ({
          id: `row-${pad(i)}`,
          data: { i, bucket: i % 100 },
        }));
        expect(await store.upsertBatch('large', shuffled(documents))).toBe(1_234);
        expect(await store.count('large')).toBe(1_234);
        expect(ids(await drain(store.query('large', { pageSize: 100 })))).toEqual(
          documents.map((document) => document.id),
        );
        // Sparse matches spread over many pages.
        const sparse = documents.filter((document) => document.data.bucket >= 98).map((document) => document.id);
        expect(
          ids(await drain(store.query('large', { where: [{ field: 'bucket', op: '>=', value: 98 }], pageSize: 50 }))),
        ).toEqual(sparse);
        expect(
          ids(await drain(store.query('large', { where: [{ field: 'bucket', op: '==', value: 3 }], pageSize: 5 }))),
        ).toEqual(documents.filter((document) => document.data.bucket === 3).map((document) => document.id));
      },
      timeout,
    );

    it('reads page by page: a document written past the current page while streaming is seen', async () => {
      await store.upsertBatch(
        'live',
        Array.from({ length: 30 }, (_, i) => ({ id: `k-${pad(i)}`, data: { i } })),
      );
      const seen: string[] = [];
      for await (const document of store.query('live', { pageSize: 10 })) {
        seen.push(document.id);
        if (seen.length === 1) await store.upsertBatch('live', [{ id: 'k-99999', data: { i: 99999 } }]);
      }
      expect(seen).toHaveLength(31);
      expect(seen.at(-1)).toBe('k-99999');
    });

    describe('ordered by a field', () => {
      // Timestamps with repeats (keyset paging must not skip or repeat equal values), documents
      // without the field, and one where it is null.
      const stamp = (i: number) => `2026-05-01T10:00:${String(Math.floor(i / 3)).padStart(2, '0')}.000Z`;
      const documents: StoredDocument[] = Array.from({ length: 45 }, (_, i) => ({
        id: `e-${pad((i * 7919) % 1000)}`,
        data: { at: stamp(i), seq: 1000 - i, kind: i % 2 === 0 ? 'even' : 'odd' },
      }));
      const byAt = [...documents].sort((a, b) => byId(String(a.data.at), String(b.data.at)) || byId(a.id, b.id));
      beforeEach(async () => {
        await store.upsertBatch('ordered', [
          ...shuffled(documents),
          { id: 'no-field', data: { seq: 5 } },
          { id: 'null-field', data: { at: null, seq: 6 } },
        ]);
      });

      it('streams in (field, id) order across pages, leaving out absent and null values', async () => {
        expect(ids(await drain(store.query('ordered', { orderBy: 'at', pageSize: 4 })))).toEqual(ids(byAt));
        const bySeq = [...documents, { id: 'no-field', data: { seq: 5 } }, { id: 'null-field', data: { seq: 6 } }]
          .sort((a, b) => Number(a.data.seq) - Number(b.data.seq))
          .map((document) => document.id);
        expect(ids(await drain(store.query('ordered', { orderBy: 'seq', pageSize: 7 })))).toEqual(bySeq);
      });

      it('answers a cursor: a range on the ordered field, with an equality on another field and a limit', async () => {
        const cursor = stamp(30);
        const after = byAt.filter((document) => byId(String(document.data.at), cursor) >= 0);
        const where: FieldFilter[] = [{ field: 'at', op: '>=', value: cursor }];
        expect(ids(await drain(store.query('ordered', { orderBy: 'at', where, pageSize: 2 })))).toEqual(ids(after));
        const odd = [...where, { field: 'kind', op: '==', value: 'odd' } as FieldFilter];
        expect(ids(await drain(store.query('ordered', { orderBy: 'at', where: odd, pageSize: 2 })))).toEqual(
          ids(after.filter((document) => document.data.kind === 'odd')),
        );
        expect(ids(await drain(store.query('ordered', { orderBy: 'at', where, limit: 4, pageSize: 3 })))).toEqual(
          ids(after.slice(0, 4)),
        );
        const pages = await drainPages(store.queryJson('ordered', { orderBy: 'at', where, pageSize: 5 }));
        expect(pages.flat().map((document) => document.id)).toEqual(ids(after));
      });

      it('refuses a range on another field than the ordered one', async () => {
        await expect(
          drain(store.query('ordered', { orderBy: 'at', where: [{ field: 'seq', op: '>', value: 1 }] })),
        ).rejects.toMatchObject({ code: 'STORE.BAD_QUERY', errorClass: 'permanent' });
        await expect(drain(store.query('ordered', { orderBy: 'a.b' }))).rejects.toMatchObject({
          code: 'STORE.BAD_FIELD',
        });
      });
    });

    describe('queryJson', () => {
      const documents: StoredDocument[] = Array.from({ length: 57 }, (_, i) => ({
        id: `doc-${pad(i)}`,
        data: {
          i,
          bucket: i % 3,
          text: i === 5 ? 'quote " backslash \\ newline \n Zoë 🚀' : `t${i}`,
          nested: { list: [i, null, true] },
          nothing: null,
        },
      }));
      beforeEach(async () => {
        await store.upsertBatch('json', shuffled(documents));
      });

      it('streams the same documents as query, as JSON text that parses back to their data, in pages of at most pageSize', async () => {
        const where: FieldFilter[] = [{ field: 'bucket', op: '==', value: 1 }];
        const pages = await drainPages(store.queryJson('json', { where, pageSize: 4 }));
        expect(pages.length).toBeGreaterThan(1);
        expect(pages.every((page) => page.length >= 1 && page.length <= 4)).toBe(true);
        const flat = pages.flat();
        expect(flat.map((document) => document.id)).toEqual(ids(await drain(store.query('json', { where }))));
        expect(flat.map((document) => ({ id: document.id, data: JSON.parse(document.json) as unknown }))).toEqual(
          documents.filter((document) => document.data.bucket === 1),
        );
        // One line of NDJSON per document: no raw line break inside.
        expect(flat.every((document) => !document.json.includes('\n') && document.json.startsWith('{'))).toBe(true);
      });

      it('keeps the limit and range filters, and yields no page when nothing matches', async () => {
        expect(
          (await drainPages(store.queryJson('json', { limit: 10, pageSize: 3 }))).flat().map((document) => document.id),
        ).toEqual(documents.slice(0, 10).map((document) => document.id));
        const where: FieldFilter[] = [{ field: 'i', op: '>=', value: 50 }];
        expect(
          (await drainPages(store.queryJson('json', { where, pageSize: 2 }))).flat().map((document) => document.id),
        ).toEqual(documents.slice(50).map((document) => document.id));
        expect(await drainPages(store.queryJson('json', { where: [{ field: 'bucket', op: '==', value: 7 }] }))).toEqual(
          [],
        );
        expect(await drainPages(store.queryJson('absent'))).toEqual([]);
      });

      it('keeps ids with quotes, tabs and other scripts apart from text holding slashes, and sees documents written after an earlier read', async () => {
        const odd: StoredDocument[] = [
          { id: 'odd "quoted" \t tab', data: { url: 'https://example.com/a/b?c=d', bucket: 9 } },
          { id: 'odd Zoë 東京 🚀', data: { path: '/', bucket: 9 } },
        ];
        await store.upsertBatch('json', [odd[0]!]);
        const where: FieldFilter[] = [{ field: 'bucket', op: '==', value: 9 }];
        expect((await drainPages(store.queryJson('json', { where }))).flat().map((document) => document.id)).toEqual([
          odd[0]!.id,
        ]);
        await store.upsertBatch('json', [odd[1]!]);
        const flat = (await drainPages(store.queryJson('json', { where, pageSize: 1 }))).flat();
        expect(flat.map((document) => ({ id: document.id, data: JSON.parse(document.json) as unknown }))).toEqual(odd);
      });

      it('refuses a bad collection or field with the errors of query', async () => {
        await expect(drainPages(store.queryJson('a/b'))).rejects.toMatchObject({
          code: 'STORE.BAD_COLLECTION',
          errorClass: 'permanent',
        });
        await expect(
          drainPages(store.queryJson('json', { where: [{ field: 'a.b', op: '==', value: 1 }] })),
        ).rejects.toMatchObject({ code: 'STORE.BAD_FIELD' });
      });
    });

    it('deletes by id and says how many existed', async () => {
      await store.upsertBatch('orders', [
        { id: 'a', data: { v: 1 } },
        { id: 'b', data: { v: 2 } },
        { id: 'c', data: { v: 3 } },
      ]);
      expect(await store.deleteMany('orders', ['a', 'a', 'missing', 'c'])).toBe(2);
      expect(await store.get('orders', 'a')).toBeUndefined();
      expect(ids(await drain(store.query('orders')))).toEqual(['b']);
      expect(await store.deleteMany('orders', [])).toBe(0);
      expect(await store.deleteMany('orders', ['a'])).toBe(0);
    });

    it('keeps collections apart', async () => {
      await store.upsertBatch('left', [{ id: 'same', data: { side: 'left' } }]);
      await store.upsertBatch('right', [{ id: 'same', data: { side: 'right' } }]);
      expect((await store.get('left', 'same'))?.data).toEqual({ side: 'left' });
      expect((await store.get('right', 'same'))?.data).toEqual({ side: 'right' });
      expect(await store.deleteMany('left', ['same'])).toBe(1);
      expect(await store.count('right')).toBe(1);
    });

    it('finds nothing for ids that cannot exist', async () => {
      expect(await store.get('orders', 'a/b')).toBeUndefined();
      expect(await store.get('orders', '')).toBeUndefined();
      expect(await store.deleteMany('orders', ['a/b', ''])).toBe(0);
    });

    describe('refuses names that cannot work, with a clear permanent error', () => {
      const badCollections = ['', 'a/b', 'sales orders', 'x'.repeat(101)];
      for (const collection of badCollections) {
        it(`collection ${JSON.stringify(collection.length > 20 ? `${collection.slice(0, 8)}…(${collection.length})` : collection)}`, async () => {
          const calls: [string, () => Promise<unknown>][] = [
            ['upsertBatch', () => store.upsertBatch(collection, [{ id: 'x', data: {} }])],
            ['get', () => store.get(collection, 'x')],
            ['query', () => drain(store.query(collection))],
            ['queryJson', () => drainPages(store.queryJson(collection))],
            ['count', () => store.count(collection)],
            ['deleteMany', () => store.deleteMany(collection, ['x'])],
          ];
          for (const [what, call] of calls) {
            await expect(call(), what).rejects.toMatchObject({ code: 'STORE.BAD_COLLECTION', errorClass: 'permanent' });
          }
        });
      }

      it('fields', async () => {
        for (const field of ['', 'a.b', '1abc', 'x-y', 'a b']) {
          const where: QueryOptions['where'] = [{ field, op: '==', value: 1 }];
          await expect(drain(store.query('orders', { where })), field).rejects.toMatchObject({
            code: 'STORE.BAD_FIELD',
            errorClass: 'permanent',
          });
          await expect(store.count('orders', { where }), field).rejects.toMatchObject({ code: 'STORE.BAD_FIELD' });
        }
        const unsupported = [{ field: 'v', op: '!=', value: 1 }] as unknown as QueryOptions['where'];
        await expect(drain(store.query('orders', { where: unsupported }))).rejects.toMatchObject({
          code: 'STORE.BAD_QUERY',
        });
      });

      it('ids, and nothing of a batch with a bad id is written', async () => {
        for (const id of ['', 'a/b', 'x'.repeat(1501)]) {
          await expect(
            store.upsertBatch('orders', [
              { id: 'good', data: { v: 1 } },
              { id, data: { v: 2 } },
            ]),
            `id of ${id.length} chars`,
          ).rejects.toMatchObject({
            code: 'STORE.BAD_ID',
            errorClass: 'permanent',
          });
        }
        expect(await store.count('orders')).toBe(0);
        expect(await store.get('orders', 'good')).toBeUndefined();
      });
    });
  });
}
