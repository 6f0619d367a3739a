/** @mlops/adapters-gcp/firestore: Firestore: the document store of the emulator and gcp modes. */
export {
  FirestoreDocumentStore,
  type FirestoreDocumentStoreOptions,
} from './firestore-document-store.adapter.js';
