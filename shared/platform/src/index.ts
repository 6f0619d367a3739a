/**
 * @mlops/platform: the composition root. `createPlatform` builds the adapters of the configured
 * mode (SQLite, DuckDB and the file system locally; Pub/Sub, Firestore, Cloud Storage and BigQuery
 * on Google Cloud) behind the kernel's ports; `runServiceMain` is the body of every service's
 * `main.ts`. Only composition roots import this package.
 */
export * from './platform.js';
export * from './service-main.js';
export * from './transform-runner.factory.js';
export * from './emulators.js';
