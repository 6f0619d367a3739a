import Database from 'better-sqlite3';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqliteDocumentStore } from '@mlops/adapters-local';
import { documentStoreContract, tempDir } from '@mlops/testing/suites';

documentStoreContract('local SQLite store', async () => {
  const dir = tempDir();
  const store = new SqliteDocumentStore({ path: join(dir.path, 'documents.sqlite') });
  return {
    store,
    cleanup: async () => {
      await store.close();
      dir.remove();
    },
  };
});

describe('local SQLite store file', () => {
  it('creates a new file with 16 KB pages and leaves an existing file its own page size', async () => {
    const dir = tempDir();
    try {
      const fresh = join(dir.path, 'fresh.sqlite');
      const store = new SqliteDocumentStore({ path: fresh });
      await store.upsertBatch('sales', [{ id: 'a', data: { n: 1 } }]);
      await store.close();
      const older = join(dir.path, 'older.sqlite');
      const db = new Database(older);
      db.pragma('page_size = 4096');
      db.exec('create table kept (x integer)');
      db.close();
      const reopened = new SqliteDocumentStore({ path: older });
      await reopened.upsertBatch('sales', [{ id: 'b', data: { n: 2 } }]);
      expect(await reopened.get('sales', 'b')).toEqual({ id: 'b', data: { n: 2 } });
      await reopened.close();
      const pageSize = (path: string) => {
        const check = new Database(path, { readonly: true });
        const size = check.pragma('page_size', { simple: true });
        check.close();
        return size;
      };
      expect(pageSize(fresh)).toBe(16384);
      expect(pageSize(older)).toBe(4096);
    } finally {
      dir.remove();
    }
  });

  it('reads and writes a file whose documents table an earlier version keyed without rowid', async () => {
    const dir = tempDir();
    try {
      const path = join(dir.path, 'earlier.sqlite');
      const db = new Database(path);
      db.exec(`create table documents (
        collection text not null, id text not null, data text not null, updated_at integer not null,
        primary key (collection, id)) without rowid`);
      db.exec("create index documents_by_run_date on documents (collection, json_extract(data, '$.run_date'), id)");
      db.prepare('insert into documents values (?, ?, ?, 0)').run(
        'sales',
        'b',
        JSON.stringify({ run_date: '2026-01-02' }),
      );
      db.close();
      const store = new SqliteDocumentStore({ path });
      await store.upsertBatch('sales', [
        { id: 'a', data: { run_date: '2026-01-02' } },
        { id: 'b', data: { run_date: '2026-01-02', n: 2 } },
        { id: 'c', data: { run_date: '2026-01-03' } },
      ]);
      const day: unknown[] = [];
      for await (const document of store.query('sales', {
        where: [{ field: 'run_date', op: '==', value: '2026-01-02' }],
      }))
        day.push(document);
      expect(day).toEqual([
        { id: 'a', data: { run_date: '2026-01-02' } },
        { id: 'b', data: { run_date: '2026-01-02', n: 2 } },
      ]);
      expect(await store.count('sales')).toBe(3);
      await store.close();
    } finally {
      dir.remove();
    }
  });

  it("indexes a field per collection, so writing one collection never evaluates another's indexes", async () => {
    const dir = tempDir();
    try {
      const path = join(dir.path, 'documents.sqlite');
      const store = new SqliteDocumentStore({ path });
      await store.upsertBatch('runs', [{ id: 'r1', data: { status: 'done' } }]);
      await store.upsertBatch('sales', [{ id: 's1', data: { status: 'done' } }]);
      const runs: unknown[] = [];
      for await (const document of store.query('runs', { where: [{ field: 'status', op: '==', value: 'done' }] }))
        runs.push(document.id);
      expect(runs).toEqual(['r1']);
      await store.close();
      const check = new Database(path, { readonly: true });
      const indexes = check
        .prepare(
          "select name, sql from sqlite_master where type = 'index' and tbl_name = 'documents' and sql is not null",
        )
        .all() as { name: string; sql: string }[];
      check.close();
      const byStatus = indexes.filter((index) => index.sql.includes('$.status'));
      expect(byStatus.map((index) => index.name)).toEqual(['documents_runs_by_status']);
      expect(byStatus[0]!.sql).toContain("where collection = 'runs'");
    } finally {
      dir.remove();
    }
  });

  it("keeps planner statistics after bulk writes and finds a day's documents through the run_date index", async () => {
    const dir = tempDir();
    try {
      const path = join(dir.path, 'documents.sqlite');
      const days = Array.from({ length: 40 }, (_, day) => `2026-01-${String(day + 1).padStart(2, '0')}`);
      const store = new SqliteDocumentStore({ path });
      const ofDay = (date: string) => ({ where: [{ field: 'run_date', op: '==' as const, value: date }] });
      // The index exists once the field is queried, as in sales-gen and the lander.
      expect(await store.count('sales', ofDay(days[0]!))).toBe(0);
      for (const date of days)
        await store.upsertBatch(
          'sales',
          Array.from({ length: 60 }, (_, n) => ({
            id: `${date}-${String(n).padStart(3, '0')}`,
            data: { run_date: date, n },
          })),
        );
      const plan = store.explainQuery('sales', ofDay('2026-01-07'));
      expect(plan.join('\n')).toMatch(/SEARCH documents USING INDEX documents_sales_by_run_date/);
      expect(plan.join('\n')).not.toMatch(/SCAN|TEMP B-TREE/);
      const ids: string[] = [];
      for await (const page of store.queryJson('sales', ofDay('2026-01-07'))) ids.push(...page.map((row) => row.id));
      expect(ids).toHaveLength(60);
      expect(ids[0]).toBe('2026-01-07-000');
      await store.close();
      const check = new Database(path, { readonly: true });
      const stats = check.prepare('select idx, stat from sqlite_stat1 where tbl = ?').all('documents') as {
        idx: string;
        stat: string;
      }[];
      // Without the index hint the planner, now with statistics, picks the run_date index too.
      const unhinted = check
        .prepare(
          "explain query plan select id from documents where collection = 'sales' and json_extract(data, '$.run_date') = ? order by id",
        )
        .all('2026-01-07') as { detail: string }[];
      check.close();
      expect(stats.map((row) => row.idx)).toEqual(
        expect.arrayContaining(['documents_key', 'documents_sales_by_run_date']),
      );
      // ~2,400 rows sampled, 60 per run_date.
      expect(
        Number(stats.find((row) => row.idx === 'documents_sales_by_run_date')!.stat.split(' ')[0]),
      ).toBeGreaterThan(1000);
      expect(unhinted.map((row) => row.detail).join('\n')).toMatch(/USING INDEX documents_sales_by_run_date/);
    } finally {
      dir.remove();
    }
  });

  it("waits for another connection's write transaction with the event loop free, then writes", async () => {
    const dir = tempDir();
    try {
      const path = join(dir.path, 'documents.sqlite');
      const store = new SqliteDocumentStore({ path });
      await store.upsertBatch('runs', [{ id: 'r0', data: { n: 0 } }]);
      const other = new Database(path);
      other.exec('begin immediate');
      other.prepare("insert into documents values ('runs', 'r1', '{\"n\":1}', 0)").run();
      const order: string[] = [];
      const writing = store.upsertBatch('runs', [{ id: 'r2', data: { n: 2 } }]).then(() => order.push('written'));
      // The store's write is busy; this thread's timers still run, and the other writer commits.
      await new Promise((resolve) => setTimeout(resolve, 30));
      order.push('timer');
      other.exec('commit');
      other.close();
      await writing;
      expect(order).toEqual(['timer', 'written']);
      const ids: string[] = [];
      for await (const document of store.query('runs')) ids.push(document.id);
      expect(ids).toEqual(['r0', 'r1', 'r2']);
      await store.close();
    } finally {
      dir.remove();
    }
  });

  it("lets a small write that waits take the lock before a bulk write that waited longer (the run ledger's turn)", async () => {
    const dir = tempDir();
    try {
      const path = join(dir.path, 'documents.sqlite');
      const bulkWriter = new SqliteDocumentStore({ path });
      const ledger = new SqliteDocumentStore({ path });
      await ledger.upsertBatch('runs', [{ id: 'r0', data: { n: 0 } }]);
      const other = new Database(path);
      other.exec('begin immediate');
      const order: string[] = [];
      const day = Array.from({ length: 1000 }, (_unused, i) => ({ id: `o${i}`, data: { i } }));
      // The bulk write tries first and backs off for its longer pause; the ledger's one document
      // starts waiting later, tries again every few milliseconds, and so gets the lock first once
      // the other writer commits (all timers of one thread: their order, not the load, decides).
      const bulk = bulkWriter.upsertBatch('sales', day).then(() => order.push('bulk'));
      await new Promise((resolve) => setTimeout(resolve, 5));
      const small = ledger.upsertBatch('runs', [{ id: 'r1', data: { n: 1 } }]).then(() => order.push('ledger'));
      await new Promise((resolve) => setTimeout(resolve, 10));
      other.exec('commit');
      other.close();
      await Promise.all([bulk, small]);
      expect(order).toEqual(['ledger', 'bulk']);
      expect(await ledger.get('sales', 'o999')).toEqual({ id: 'o999', data: { i: 999 } });
      await bulkWriter.close();
      await ledger.close();
    } finally {
      dir.remove();
    }
  });

  it('keeps the last version of an id written twice in one batch, whatever the order of the batch', async () => {
    const dir = tempDir();
    try {
      const store = new SqliteDocumentStore({ path: join(dir.path, 'documents.sqlite') });
      await store.upsertBatch('sales', [
        { id: 'b', data: { v: 1 } },
        { id: 'a', data: { v: 1 } },
        { id: 'b', data: { v: 2 } },
      ]);
      expect(await store.get('sales', 'b')).toEqual({ id: 'b', data: { v: 2 } });
      const ids: string[] = [];
      for await (const document of store.query('sales')) ids.push(document.id);
      expect(ids).toEqual(['a', 'b']);
      await store.close();
    } finally {
      dir.remove();
    }
  });

  it('empties the WAL every 40,000 documents once readers have left it, so the file stops growing', async () => {
    const dir = tempDir();
    try {
      const path = join(dir.path, 'documents.sqlite');
      const store = new SqliteDocumentStore({ path });
      const batch = (from: number) =>
        Array.from({ length: 1000 }, (_, i) => ({
          id: `o_${(((from + i) * 2654435761) % 4294967296).toString(16).padStart(8, '0')}`,
          data: { n: from + i, run_date: '2026-01-01' },
        }));
      // A reader on an old snapshot keeps every frame in the WAL (as a lander's page read does).
      const reader = new Database(path, { readonly: true });
      reader.exec('begin');
      reader.prepare('select count(*) from documents').get();
      for (let from = 0; from < 10_000; from += 1000) await store.upsertBatch('sales', batch(from));
      const grown = statSync(`${path}-wal`).size;
      expect(grown).toBeGreaterThan(1_000_000);
      reader.exec('commit');
      reader.close();
      for (let from = 10_000; from < 39_000; from += 1000) await store.upsertBatch('sales', batch(from));
      expect(statSync(`${path}-wal`).size).toBeGreaterThanOrEqual(grown);
      // The 40,000th document: the store copies the WAL into the database and truncates it.
      await store.upsertBatch('sales', batch(39_000));
      expect(statSync(`${path}-wal`).size).toBe(0);
      expect(await store.count('sales')).toBe(40_000);
      expect(await store.get('sales', batch(39_000)[999]!.id)).toEqual({
        id: batch(39_000)[999]!.id,
        data: { n: 39_999, run_date: '2026-01-01' },
      });
      await store.close();
    } finally {
      dir.remove();
    }
  });

  it("keeps several writes' pages in the WAL past SQLite's default checkpoint size, then copies each page once", async () => {
    const dir = tempDir();
    try {
      const path = join(dir.path, 'documents.sqlite');
      const store = new SqliteDocumentStore({ path });
      const text = 'x'.repeat(4000);
      // Six writes of ~4 MB: past the 1,000 pages (16 MB) after which SQLite would copy the WAL into the database.
      for (let write = 0; write < 6; write += 1) {
        const batch = Array.from({ length: 1000 }, (_, i) => ({
          id: `o_${write}_${String(i).padStart(4, '0')}`,
          data: { n: write * 1000 + i, text },
        }));
        await store.upsertBatch('sales', batch);
      }
      expect(statSync(`${path}-wal`).size).toBeGreaterThan(20 * 2 ** 20);
      // Nothing was copied yet: the database file holds only its first pages.
      expect(statSync(path).size).toBeLessThan(2 ** 20);
      expect(await store.count('sales')).toBe(6000);
      expect(await store.get('sales', 'o_5_0999')).toEqual({ id: 'o_5_0999', data: { n: 5999, text } });
      await store.close();
      // Closing the last connection copies the WAL into the database.
      expect(statSync(path).size).toBeGreaterThan(20 * 2 ** 20);
      const reopened = new SqliteDocumentStore({ path });
      expect(await reopened.count('sales')).toBe(6000);
      await reopened.close();
    } finally {
      dir.remove();
    }
  });
});
