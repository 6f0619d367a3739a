import { Firestore } from '@google-cloud/firestore';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FirestoreDocumentStore } from '@mlops/adapters-gcp';
import {
  documentStoreContract,
  skipWithoutEmulator,
  startEmulator,
  uniqueProjectId,
  type RunningEmulator,
} from '@mlops/testing/suites';

const skip = skipWithoutEmulator('firestore', 'FirestoreDocumentStore emulator tests');

describe.skipIf(skip)('FirestoreDocumentStore on the Firestore emulator', () => {
  let emulator: RunningEmulator;
  beforeAll(async () => {
    emulator = await startEmulator('firestore');
  });
  afterAll(async () => {
    await emulator?.stop();
  });

  // A fresh project per test: the emulator keeps each project's documents apart.
  documentStoreContract('Firestore emulator', async () => {
    const store = new FirestoreDocumentStore({ projectId: uniqueProjectId('docs'), emulatorHost: emulator.host });
    return { store, cleanup: () => store.close() };
  });

  describe('Firestore specifics', () => {
    let projectId: string;
    let store: FirestoreDocumentStore;
    let plain: Firestore;
    const open = () => {
      projectId = uniqueProjectId('fs');
      store = new FirestoreDocumentStore({ projectId, emulatorHost: emulator.host });
      plain = new Firestore({
        projectId,
        host: emulator.host,
        ssl: false,
        credentials: { client_email: 'test@localhost', private_key: 'unused' },
      });
    };
    afterEach(async () => {
      await store?.close();
      await plain?.terminate();
    });

    it('writes real Firestore documents that another client reads back', async () => {
      open();
      await store.upsertBatch('sales', [
        { id: 'order-1', data: { runDate: '2026-03-01', amountUsd: 12.5, items: [{ sku: 'a', qty: 2 }] } },
      ]);
      const snapshot = await plain.collection('sales').doc('order-1').get();
      expect(snapshot.exists).toBe(true);
      expect(snapshot.data()).toEqual({ runDate: '2026-03-01', amountUsd: 12.5, items: [{ sku: 'a', qty: 2 }] });
    });

    it('writes more than one batch of 500 in one call', async () => {
      open();
      const documents = Array.from({ length: 1_101 }, (_, i) => ({
        id: `d${String(i).padStart(5, '0')}`,
        data: { i },
      }));
      expect(await store.upsertBatch('bulk', documents)).toBe(1_101);
      const count = await plain.collection('bulk').count().get();
      expect(count.data().count).toBe(1_101);
    });

    it('refuses what Firestore cannot store before writing anything', async () => {
      open();
      const cases: [string, StoredData][] = [
        ['an array inside an array', { matrix: [[1, 2]] }],
        ['an empty field name', { '': 1 }],
        ['a reserved field name', { __name__: 'x' }],
      ];
      for (const [why, data] of cases) {
        await expect(
          store.upsertBatch('bad', [
            { id: 'fine', data: { ok: true } },
            { id: 'broken', data },
          ]),
          why,
        ).rejects.toMatchObject({ code: 'STORE.BAD_DOCUMENT', errorClass: 'permanent' });
      }
      for (const id of ['.', '..', '__reserved__']) {
        await expect(store.upsertBatch('bad', [{ id, data: {} }]), id).rejects.toMatchObject({ code: 'STORE.BAD_ID' });
      }
      expect(await store.count('bad')).toBe(0);
    });
  });
});

type StoredData = Parameters<FirestoreDocumentStore['upsertBatch']>[1][number]['data'];
