/**
 * @mlops/kernel: what every service and adapter shares. Events and their contracts, the ports
 * (interfaces) services depend on, configuration, logging, the runtime that hosts a service on any
 * transport, and the operations records (run ledger, model registry). It exports no adapter:
 * nothing here touches an SDK or an engine; `@mlops/platform` builds the adapters of a mode.
 */
import './runtime/source-guard.js';
export * from './errors.js';
export * from './contracts/contracts.generated.js';
export * from './events/event-catalog.js';
export * from './events/cloud-event.js';
export * from './events/event-validator.js';
export * from './events/message-codec.js';
export * from './events/message-excerpt.js';
export * from './config/config.js';
export * from './config/run-dates.js';
export * from './config/run-date-vars.js';
export * from './log/logger.js';
export type * from './ports/event-bus.port.js';
export type * from './ports/document-store.port.js';
export type * from './ports/object-store.port.js';
export type * from './ports/warehouse.port.js';
export type * from './ports/warehouse-access.port.js';
export type * from './ports/parquet-writer.port.js';
export type * from './ports/platform.port.js';
export type * from './ports/vertex-ai.port.js';
export * from './ports/transform-runner.port.js';
export * from './runtime/backoff.js';
export * from './runtime/service.js';
export * from './runtime/service-host.js';
export * from './runtime/eventarc.js';
export * from './runtime/settlement.js';
export * from './runtime/delivery.js';
export * from './runtime/dead-letters.js';
export * from './runtime/dead-letter-relay.js';
export * from './runtime/host-allow-list.js';
export * from './runtime/cloudevents-http.js';
export * from './runtime/http-transport.js';
export * from './ops/run-ledger.js';
export * from './ops/warehouse-checksums.js';
export * from './ops/model-registry.js';
