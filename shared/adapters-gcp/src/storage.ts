/** @mlops/adapters-gcp/storage: Cloud Storage: the lake and model folders of gs:// roots. */
export { GcsObjectStore, type GcsObjectStoreOptions } from './gcs-object-store.adapter.js';
