import { SqliteDocumentStore } from '@mlops/shared';
import { join } from 'node:path';
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
