import type {
  AnyEvent,
  Topic,
  WireMessage,
  DeadLetter,
  DeadLetterInfo,
  DeliveryHandler,
  EventBus,
  SubscriptionHandle,
  ReplayResult,
  SubscriptionSpec,
  SubscriptionStats,
} from '@mlops/kernel';
import { SqliteConsumer } from './sqlite-bus/sqlite-bus.consumer.js';
import { SqliteBusDatabase, type SqliteEventBusOptions } from './sqlite-bus/sqlite-bus.database.js';
import { SqliteDeadLetters } from './sqlite-bus/sqlite-bus.dead-letters.js';
import { SqlitePublisher } from './sqlite-bus/sqlite-bus.publisher.js';
import { SqliteSubscriptions } from './sqlite-bus/sqlite-bus.subscriptions.js';

export type { SqliteEventBusOptions } from './sqlite-bus/sqlite-bus.database.js';

/**
 * The embedded, durable event bus: an append-only event log with a cursor per subscription in one
 * SQLite file (WAL): a head, the ranges leased past it, and rows only for retries, dead letters and
 * replays. Leases expire when a process is killed, so a restarted consumer (or another process)
 * takes the messages up where they stopped. Publishes issued
 * in the same tick share one transaction; consumers in the same process are woken at once, others
 * poll. It implements every bus port; its parts live in `sqlite-bus/` (database, publisher,
 * consumer, subscriptions, dead letters).
 */
export class SqliteEventBus implements EventBus {
  readonly maxMessageBytes: number;
  private readonly database: SqliteBusDatabase;
  private readonly publisher: SqlitePublisher;
  private readonly subscriptions: SqliteSubscriptions;
  private readonly deadLetters: SqliteDeadLetters;
  private readonly consumers = new Set<SqliteConsumer>();
  private closing: Promise<void> | undefined;

  constructor(options: SqliteEventBusOptions) {
    this.database = new SqliteBusDatabase(options);
    this.maxMessageBytes = this.database.maxMessageBytes;
    const wakeAll = () => {
      for (const consumer of this.consumers) consumer.refresh();
    };
    this.publisher = new SqlitePublisher(
      this.database,
      (topics) => {
        for (const consumer of this.consumers) if (topics.has(consumer.topic)) consumer.wake();
      },
      (topic) => {
        let readers = 0;
        for (const consumer of this.consumers) if (consumer.topic === topic) readers += 1;
        return readers;
      },
    );
    this.subscriptions = new SqliteSubscriptions(this.database, wakeAll);
    this.deadLetters = new SqliteDeadLetters(this.database, wakeAll);
  }

  publish(event: AnyEvent): Promise<string> {
    return this.publisher.publish(event);
  }

  /**
   * Append a message as it arrived from a producer, without validating it: what a foreign or
   * broken publisher could put on a topic. Consumers validate on receipt and dead-letter it.
   */
  publishRaw(topic: Topic, message: WireMessage): Promise<string> {
    return this.publisher.publishRaw(topic, message);
  }

  ensureSubscription(spec: SubscriptionSpec): Promise<void> {
    return this.subscriptions.ensureSubscription(spec);
  }

  async subscribe(spec: SubscriptionSpec, handler: DeliveryHandler): Promise<SubscriptionHandle> {
    const stored = this.subscriptions.ensure(spec);
    const consumer = new SqliteConsumer(
      { database: this.database, deadLetters: this.deadLetters, publisher: this.publisher },
      spec,
      handler,
      { maxAttempts: stored.maxAttempts, backoff: stored.backoff, concurrency: Math.max(1, spec.concurrency ?? 1) },
    );
    this.consumers.add(consumer);
    consumer.start();
    return {
      name: spec.name,
      close: async () => {
        await consumer.close();
        this.consumers.delete(consumer);
      },
    };
  }

  replay(options: { topic: Topic; since: Date; subscription?: string }): Promise<ReplayResult> {
    return this.subscriptions.replay(options);
  }

  stats(): Promise<SubscriptionStats[]> {
    return this.subscriptions.stats();
  }

  deadLetter(message: WireMessage, info: DeadLetterInfo): Promise<void> {
    return this.deadLetters.deadLetter(message, info);
  }

  listDeadLetters(filter?: { subscription?: string; limit?: number }): Promise<DeadLetter[]> {
    return this.deadLetters.listDeadLetters(filter);
  }

  redrive(filter?: { ids?: readonly string[]; subscription?: string }): Promise<number> {
    return this.deadLetters.redrive(filter);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      // Consumers first: handlers in hand may still publish their follow-ups and reports.
      await Promise.all([...this.consumers].map((consumer) => consumer.close()));
      this.consumers.clear();
      this.publisher.close();
      await this.database.close();
    })();
    return this.closing;
  }
}
