import Database from 'better-sqlite3';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqliteDocumentStore } from '@mlops/shared';
import { documentStoreContract } from './contracts/document-store.contract.js';
import { tempDir } from './helpers.js';

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
});
