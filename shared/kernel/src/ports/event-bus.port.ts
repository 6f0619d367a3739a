import type { AnyEvent } from '../events/cloud-event.js';
import type { Topic } from '../events/event-catalog.js';
import type { WireMessage } from '../events/message-codec.js';
import type { ExcerptInfo } from '../events/message-excerpt.js';

/**
 * Publishing: what a handler's follow-up events, the CLI's start events and the dead-letter
 * announcements go through (the bus, or a recorder in tests).
 */
export interface Publisher {
  /** Validate and publish an event on its type's topic; resolves to the transport message id. */
  publish(event: AnyEvent): Promise<string>;
}

/** What a dead letter records besides the message. */
export interface DeadLetterInfo {
  subscription: string;
  topic: string;
  /** Stable error code, e.g. EVENT.SCHEMA_VIOLATION. */
  code: string;
  reason: string;
  attempts: number;
}

/**
 * Where a message this process received some other way is kept when it is given up. Caller: the
 * HTTP transport (an Eventarc push), whose transport has no dead letters of its own here.
 */
export interface DeadLetterSink {
  /**
   * Dead-letter a message received outside the bus's own consumers: it goes to the dead-letter
   * topic with its reason (an oversized one as a bounded excerpt), as if the bus had given up on it.
   */
  deadLetter(message: WireMessage, info: DeadLetterInfo): Promise<void>;
}

/** Facts about one delivery of a message to a subscription. */
export interface Delivery {
  /** Transport message id (Pub/Sub message id, or the local bus sequence number). */
  messageId: string;
  subscription: string;
  /** 1 on the first delivery, then 2, 3, ... */
  attempt: number;
  publishedAt: Date;
}

/**
 * Reaction to one delivered event. Resolve to acknowledge. Throw a `PermanentError` to dead-letter
 * at once; throw anything else to have the message redelivered with backoff until the attempt
 * limit dead-letters it.
 */
export type DeliveryHandler = (event: AnyEvent, delivery: Delivery) => Promise<void>;

/** A named, durable subscription to one topic. */
export interface SubscriptionSpec {
  /** Unique name, by convention `<service>.<topic>`. */
  name: string;
  topic: Topic;
  /** Deliveries before the message is dead-lettered (default from configuration). */
  maxAttempts?: number;
  /** Backoff between redeliveries: exponential from minMs, capped at maxMs. */
  backoff?: { minMs: number; maxMs: number };
  /** How many messages of this subscription may be handled at once (default 1). */
  concurrency?: number;
}

/** A running consumer; `close` stops taking new messages and waits for the ones in hand. */
export interface SubscriptionHandle {
  readonly name: string;
  close(): Promise<void>;
}

/** A message nobody could handle, kept with the reason. */
export interface DeadLetter {
  /** Id of the dead letter itself (for redrive). */
  id: string;
  subscription: string;
  topic: string;
  messageId: string;
  /** The event type the message claimed, if any. */
  eventType?: string;
  eventId?: string;
  runId?: string;
  /** Stable error code, e.g. EVENT.SCHEMA_VIOLATION. */
  code: string;
  reason: string;
  attempts: number;
  deadAt: Date;
  /** The message, or for one over the size limit an excerpt of it (see `excerpt`). */
  message: WireMessage;
  /** Set when `message` is an excerpt: the whole message's size and its data's SHA-256. */
  excerpt?: ExcerptInfo;
}

/** Counts of a subscription's messages by state (what the transport can tell). */
export interface SubscriptionStats {
  subscription: string;
  topic: string;
  pending: number;
  inFlight: number;
  acked: number;
  dead: number;
}

/** What a replay did: subscriptions rewound, and deliveries scheduled when the transport knows (Pub/Sub's seek does not say). */
export interface ReplayResult {
  subscriptions: number;
  deliveries: number | undefined;
}

/**
 * Consuming: a durable subscription's messages, validated, handed to a handler, settled by the one
 * settlement rule. Callers: the service host (`hostService`), observers in tests and benchmarks.
 */
export interface Subscriber {
  /** Start consuming a subscription (created if absent). */
  subscribe(spec: SubscriptionSpec, handler: DeliveryHandler): Promise<SubscriptionHandle>;
}

/**
 * Subscriptions as an operator sees them. Callers: `mlops stack up` and `--attach` create every
 * subscription of the topology before anyone consumes (`ensureSubscription`), `mlops replay`
 * rewinds them (`replay`), `mlops status`, the CLI's progress and the dashboard count them (`stats`).
 */
export interface SubscriptionAdmin {
  /** Create the topic and subscription if absent, without consuming (so nothing published later is missed). */
  ensureSubscription(spec: SubscriptionSpec): Promise<void>;
  /**
   * Deliver again every message published on a topic since a point in time, to one subscription or
   * to all of the topic's subscriptions (rewinding them); resolves to how many subscriptions were
   * rewound and, where the transport can count them, how many deliveries that scheduled.
   */
  replay(options: { topic: Topic; since: Date; subscription?: string }): Promise<ReplayResult>;
  /** Per-subscription counts, for status views. */
  stats(): Promise<SubscriptionStats[]>;
}

/** Dead letters as an operator handles them. Callers: `mlops dlq`, `mlops status`, the dashboard. */
export interface DeadLetterAdmin {
  /** Dead letters, newest first. */
  listDeadLetters(filter?: { subscription?: string; limit?: number }): Promise<DeadLetter[]>;
  /** Put dead letters back on their subscription for another try; resolves to how many. */
  redrive(filter?: { ids?: readonly string[]; subscription?: string }): Promise<number>;
}

/**
 * The whole event bus, as the composition root builds it: at-least-once delivery of validated
 * CloudEvents between stages, with retries, dead letters and replay; ordering is not guaranteed.
 * Code that uses the bus takes the narrowest of its ports it needs.
 */
export interface EventBus extends Publisher, Subscriber, SubscriptionAdmin, DeadLetterAdmin, DeadLetterSink {
  /** Stop every consumer and release the transport. */
  close(): Promise<void>;
}
