/**
 * @mlops/testing/suites: the contract suites every adapter of a port passes, and small helpers of
 * the platform packages' own tests.
 */
export * from './contracts/dead-letter-announcement.js';
export * from './contracts/document-store.contract.js';
export * from './contracts/event-bus.contract.js';
export * from './contracts/warehouse.contract.js';
export * from './helpers.js';
export * from './raw-http.js';
export * from './emulators.js';
