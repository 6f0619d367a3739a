/**
 * The lander suite, unchanged, against the Firestore emulator: the lander reads one run date's
 * orders the same way from Firestore as from the embedded store.
 */
import { afterAll, beforeAll, describe } from 'vitest';
import { FirestoreDocumentStore } from '@mlops/adapters-gcp';
import { skipWithoutEmulator, startEmulator, uniqueProjectId, type RunningEmulator } from '@mlops/testing';
import { landerSuite } from './lander.suite.js';

const skip = skipWithoutEmulator('firestore', 'the lander on the Firestore emulator');

describe.skipIf(skip)('the lander on Firestore', () => {
  let emulator: RunningEmulator;
  beforeAll(async () => {
    emulator = await startEmulator('firestore');
  });
  afterAll(async () => {
    await emulator?.stop();
  });

  landerSuite(
    'the Firestore emulator',
    async () => {
      const documents = new FirestoreDocumentStore({
        projectId: uniqueProjectId('lander'),
        emulatorHost: emulator.host,
      });
      return { documents, cleanup: () => documents.close() };
    },
    { timeoutMs: 60_000 },
  );
});
