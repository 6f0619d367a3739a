/**
 * Following the run ledger reads only what was recorded since the last poll: the documents a poll
 * reads stay flat while the history grows, on the embedded store and on the Firestore emulator.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunLedger, type AnyEvent, type DocumentStore } from '@mlops/kernel';
import { SqliteDocumentStore } from '@mlops/adapters-local';
import { FirestoreDocumentStore } from '@mlops/adapters-gcp';
import {
  skipWithoutEmulator,
  startEmulator,
  uniqueProjectId,
  type RunningEmulator,
  tempDir,
} from '@mlops/testing/suites';
import { emitted, started } from './fixtures/ledger-events.js';

/** A day's worth of ledger events: a start and the sales generated for it. */
function day(index: number): AnyEvent[] {
  const runDate = new Date(Date.UTC(2025, 0, 1) + index * 86_400_000).toISOString().slice(0, 10);
  const start = started(runDate, index * 100);
  const generated = emitted(
    start,
    'sales-gen',
    'mlops.sales.generated.v1',
    { runDate, collection: 'sales', documentCount: 1, dirtyCount: 0 },
    [index * 100 + 1, index * 100 + 2],
  );
  return [start, generated];
}

async function followsIncrementally(documents: DocumentStore, history: readonly number[]): Promise<void> {
  // History is recorded by a recorder whose clock stands an hour ago; recent activity now.
  let clock = Date.now() - 3_600_000;
  const old = new RunLedger(documents, () => new Date((clock += 1)));
  const now = new RunLedger(documents);
  const follower = now.follow({ since: new Date(Date.now() - 1000) });
  expect(await follower.poll()).toEqual([]);
  const reads: number[] = [];
  let index = 0;
  for (const historyDays of history) {
    while (index < historyDays) for (const event of day(index++)) await old.record(event);
    const fresh = day(10_000 + historyDays);
    for (const event of fresh) await now.record(event);
    const changed = await follower.poll();
    expect(changed.map((entry) => entry.eventId).sort()).toEqual(fresh.map((event) => event.id).sort());
    reads.push(follower.lastRead);
  }
  // Each poll reads the recent entries (the overlap keeps earlier fresh ones in view), not the history.
  expect(Math.max(...reads)).toBeLessThanOrEqual(6);
  expect((await now.entries()).length).toBe(history.at(-1)! * 2 + 6);
  // A write stamped before the cursor but committed after the last poll is still seen.
  const late = day(20_000);
  const behind = new RunLedger(documents, () => new Date(Date.now() - 2000));
  for (const event of late) await behind.record(event);
  expect((await follower.poll()).map((entry) => entry.eventId).sort()).toEqual(late.map((event) => event.id).sort());
  // Nothing new: nothing changed (what the overlap re-reads is not reported again).
  expect(await follower.poll()).toEqual([]);
  expect(follower.entries()).toHaveLength(8);
}

describe('following the run ledger', () => {
  it('on the embedded store, reads per poll only what was recorded since the last one', async () => {
    const dir = tempDir();
    const documents = new SqliteDocumentStore({ path: join(dir.path, 'documents.sqlite') });
    try {
      await followsIncrementally(documents, [50, 150, 300]);
    } finally {
      await documents.close();
      dir.remove();
    }
  });

  it('from the beginning, reads everything once, entries of older ledgers without recordedAt included', async () => {
    const dir = tempDir();
    const documents = new SqliteDocumentStore({ path: join(dir.path, 'documents.sqlite') });
    try {
      const ledger = new RunLedger(documents);
      for (const event of day(1)) await ledger.record(event);
      // An entry as a ledger before recordedAt wrote it.
      const [legacy] = day(2);
      await ledger.record(legacy!);
      const { recordedAt: _recordedAt, ...older } = (await documents.get('run_events', legacy!.id))!.data;
      await documents.upsertBatch('run_events', [{ id: legacy!.id, data: older }]);
      const follower = ledger.follow();
      expect((await follower.poll()).length).toBe(3);
      expect(follower.lastRead).toBe(3);
      expect(await follower.poll()).toEqual([]);
    } finally {
      await documents.close();
      dir.remove();
    }
  });
});

const skip = skipWithoutEmulator('firestore', 'following the run ledger on Firestore');

describe.skipIf(skip)('following the run ledger on the Firestore emulator', () => {
  let emulator: RunningEmulator;
  beforeAll(async () => {
    emulator = await startEmulator('firestore');
  });
  afterAll(async () => {
    await emulator?.stop();
  });

  it('reads per poll only what was recorded since the last one (an ordered range query, no collection scan)', async () => {
    const documents = new FirestoreDocumentStore({ projectId: uniqueProjectId('ledger'), emulatorHost: emulator.host });
    try {
      await followsIncrementally(documents, [20, 60, 120]);
    } finally {
      await documents.close();
    }
  }, 120_000);
});
