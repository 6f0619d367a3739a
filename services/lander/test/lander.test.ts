import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '@mlops/kernel';
import { DuckDbParquetWriter, SqliteDocumentStore } from '@mlops/adapters-local';
import { InMemoryDocumentStore, InMemoryObjectStore } from '@mlops/testing';
import { createLanderService } from '../src/index.js';
import { landerSuite } from './lander.suite.js';

landerSuite('the in-memory document store', async () => {
  const documents = new InMemoryDocumentStore();
  return { documents, cleanup: () => documents.close() };
});

landerSuite('the SQLite document store', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mlops-lander-docs-'));
  const documents = new SqliteDocumentStore({ path: join(dir, 'documents.sqlite') });
  return {
    documents,
    cleanup: async () => {
      await documents.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe('lander settings', () => {
  it.each([
    ['zero rows per part', { rowsPerPart: 0 }, 'rowsPerPart'],
    ['a fractional page size', { pageSize: 2.5 }, 'pageSize'],
  ])('refuses %s, naming the setting', (_name, settings, setting) => {
    const make = () =>
      createLanderService({
        documents: new InMemoryDocumentStore(),
        objects: new InMemoryObjectStore(),
        parquet: new DuckDbParquetWriter(),
        ...settings,
      });
    expect(make).toThrow(ConfigError);
    expect(make).toThrow(setting);
  });
});
