import type { AnyEvent, CloudEvent } from '../events/cloud-event.js';
import type { EventDataMap, EventType } from '../events/event-catalog.js';
import type { Stage } from '../contracts/contracts.generated.js';
import type { Logger } from '../log/logger.js';
import type { WireMessage } from '../events/message-codec.js';
import type { Delivery, Publisher } from '../ports/event-bus.port.js';

/** Options of a follow-up event. */
export interface EmitOptions {
  /** What the event is about, e.g. `sales/2026-01-31`; also makes its id distinct from siblings. */
  subject?: string;
  /** Override the run date (a transformer run that covers several dates emits per date). */
  rundate?: string;
}

/** What a handler may do besides its own ports: log and emit follow-up events. */
export interface HandlerContext {
  readonly log: Logger;
  readonly delivery: Delivery;
  /** Publish a follow-up event of the same run (validated against its schema). */
  emit<K extends EventType>(type: K, data: EventDataMap[K], options?: EmitOptions): Promise<CloudEvent<K>>;
}

/** What a raw consumer may do: log, and publish events it builds itself (it has no cause event). */
export interface RawContext {
  readonly log: Logger;
  readonly delivery: Delivery;
  readonly publisher: Publisher;
}

/**
 * The reaction to a topic that carries no CloudEvent of the platform (a Cloud Logging sink's
 * LogEntry on `dataform-completions`, say). It receives the Pub/Sub message as it came and checks
 * its shape itself; its errors settle like a handler's (permanent: dead letter; transient: retry).
 */
export interface RawConsumer {
  /** The topic, e.g. `dataform-completions`; its subscription is `<service>.<topic>`. */
  readonly topic: string;
  handle(message: WireMessage, context: RawContext): Promise<void>;
}

/**
 * A service: the reaction of one stage. `handle` receives one validated event and performs its
 * effects through ports captured when the service was created (`createLanderService(ports)`), so
 * the same service runs in-process, as a Cloud Run function behind Eventarc, or as a Pub/Sub
 * pull worker.
 */
export interface Service {
  readonly name: Stage;
  /** Event types this service reacts to; it is subscribed to their topics. */
  readonly consumes: readonly EventType[];
  /** How many events the service may handle at once (default 1). */
  readonly concurrency?: number;
  handle(event: AnyEvent, context: HandlerContext): Promise<void>;
  /**
   * Topics of raw messages it also consumes (gcp, pushed by Eventarc). The pull transports do not
   * subscribe them: in local and emulator modes nothing publishes there.
   */
  readonly rawConsumers?: readonly RawConsumer[];
}

/** The subscription name of a service on a topic, `<service>.<topic>`. */
export function subscriptionName(service: string, topic: string): string {
  return `${service}.${topic}`;
}
