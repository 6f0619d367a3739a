/**
 * @mlops/adapters-gcp: the ports on Google Cloud (Pub/Sub, Firestore, Cloud Storage, BigQuery,
 * the Dataform API, Vertex AI, the functions framework host) and the emulator tooling. Each
 * technology is also its own entry (`@mlops/adapters-gcp/pubsub`, ...) so that `@mlops/platform`
 * loads a Google client library only in the mode that uses it; this entry loads them all.
 */
export * from './pubsub.js';
export * from './firestore.js';
export * from './storage.js';
export * from './bigquery.js';
export * from './dataform.js';
export * from './vertex-ai.js';
export * from './functions-framework.js';
export * from './credentials.js';
export * from './emulators.js';
