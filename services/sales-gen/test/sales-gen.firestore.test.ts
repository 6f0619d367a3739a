/**
 * A day's replace on Firestore, which has no transaction large enough for a day of orders: the new
 * documents are written first and the stale ones deleted after, so a reader polling the day while
 * it is replaced never finds it empty, nor smaller than the smaller of the two versions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnyEvent } from '@mlops/kernel';
import { FirestoreDocumentStore } from '@mlops/adapters-gcp';
import {
  skipWithoutEmulator,
  startEmulator,
  uniqueProjectId,
  type RunningEmulator,
  deliver,
  testEvent,
} from '@mlops/testing';
import { createSalesGenService } from '../src/index.js';

const skip = skipWithoutEmulator('firestore', 'the sales day replace on the Firestore emulator');
const date = '2026-03-03';
const start = (): AnyEvent => testEvent('mlops.pipeline.started.v1', { runDate: date, trigger: 'cli' }, date);
const day = { where: [{ field: 'run_date', op: '==' as const, value: date }] };

describe.skipIf(skip)("replacing a day's orders on Firestore", () => {
  let emulator: RunningEmulator;
  let store: FirestoreDocumentStore;
  beforeAll(async () => {
    emulator = await startEmulator('firestore');
    store = new FirestoreDocumentStore({ projectId: uniqueProjectId('sales'), emulatorHost: emulator.host });
  });
  afterAll(async () => {
    await store?.close();
    await emulator?.stop();
  });

  // Another seed gives other order ids: the whole first version becomes stale.
  const service = (seed: number) =>
    createSalesGenService({
      documents: store,
      collection: 'sales',
      generators: { seed, scale: 1, dirtyShare: 0.01, piiHmacKey: 'test-key-0123456789' },
      batchSize: 100,
    });

  async function ids(): Promise<Set<string>> {
    const found = new Set<string>();
    for await (const document of store.query('sales', day)) found.add(document.id);
    return found;
  }

  it('never shows a reader an empty or shrunken day while the day is replaced', async () => {
    await deliver(service(42), start());
    const before = await ids();
    expect(before.size).toBeGreaterThan(700);

    const counts: number[] = [];
    let replacing = true;
    const reader = (async () => {
      while (replacing) counts.push(await store.count('sales', day));
    })();
    const published = await deliver(service(7), start());
    replacing = false;
    await reader;

    const after = await ids();
    const announced = published.ofType('mlops.sales.generated.v1')[0]!.data.documentCount;
    expect(after.size).toBe(announced);
    expect(
      [...after].some((id) => before.has(id)),
      'the two versions share no order',
    ).toBe(false);
    expect(counts.length, 'the reader looked while the day was replaced').toBeGreaterThan(5);
    expect(Math.min(...counts)).toBeGreaterThanOrEqual(Math.min(before.size, after.size));
    // Not isolated: in between, the reader sees old and new orders together.
    expect(Math.max(...counts)).toBeGreaterThan(Math.max(before.size, after.size));
  });

  it('leaves the same documents when the same start event is delivered again', async () => {
    const snapshot = async () => {
      const documents: string[] = [];
      for await (const document of store.query('sales', day)) documents.push(JSON.stringify(document));
      return documents;
    };
    const first = await snapshot();
    await deliver(service(7), start());
    expect(await snapshot()).toEqual(first);
  });
});
