import {
  PermanentError,
  SharedErrors,
  type AnyEvent,
  topicOf,
  type Topic,
  validateEvent,
  encodeMessage,
  messageFits,
  messageSize,
  type WireMessage,
  type Publisher,
} from '@mlops/kernel';
import type { SqliteBusDatabase } from './sqlite-bus.database.js';

interface Queued {
  topic: Topic;
  message: WireMessage;
  resolve: (id: string) => void;
  reject: (error: unknown) => void;
}

/**
 * Publishing on the SQLite bus: validate and encode, then append. Publishes issued in the same
 * tick share one transaction (one fsync-free WAL commit for a burst); once committed, the topics'
 * consumers in this process are woken (`onPublished`), those of other processes poll.
 */
export class SqlitePublisher implements Publisher {
  private queue: Queued[] = [];
  private flushScheduled = false;
  private closed = false;

  constructor(
    private readonly database: SqliteBusDatabase,
    private readonly onPublished: (topics: ReadonlySet<Topic>) => void,
    /** How many consumers in this process read the topic (its messages are kept in memory for them). */
    private readonly consumers: (topic: Topic) => number = () => 1,
  ) {}

  async publish(event: AnyEvent): Promise<string> {
    const valid = validateEvent(event);
    const message = encodeMessage(valid);
    const max = this.database.maxMessageBytes;
    if (!messageFits(message, max)) throw SharedErrors.tooLarge(messageSize(message), max);
    return this.enqueue(topicOf(valid.type), message);
  }

  /**
   * Append a message as it arrived from a producer, without validating it: what a foreign or
   * broken publisher could put on a topic. Consumers validate on receipt and dead-letter it.
   */
  publishRaw(topic: Topic, message: WireMessage): Promise<string> {
    return this.enqueue(topic, message);
  }

  private enqueue(topic: Topic, message: WireMessage): Promise<string> {
    if (this.closed) return Promise.reject(new PermanentError('BUS.CLOSED', 'the event bus is closed'));
    return new Promise<string>((resolve, reject) => {
      this.queue.push({ topic, message, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        queueMicrotask(() => this.flush());
      }
    });
  }

  /** Commit what is queued in one transaction. */
  flush(): void {
    this.flushScheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    const now = Date.now();
    let first: number;
    try {
      const rows = batch.map((item) => this.database.encode(item.topic, item.message));
      first = this.database.db.transaction(() => this.database.appendMany(rows, now))();
    } catch (error) {
      for (const item of batch) item.reject(error);
      return;
    }
    const topics = new Set<Topic>();
    let lastTopic: Topic | undefined;
    let readers = 0;
    for (let index = 0; index < batch.length; index += 1) {
      const item = batch[index]!;
      if (item.topic !== lastTopic) {
        lastTopic = item.topic;
        topics.add(item.topic);
        readers = this.consumers(item.topic);
      }
      const seq = first + index;
      if (readers > 0) this.database.remember(seq, item.message, now, readers);
      item.resolve(String(seq));
    }
    this.onPublished(topics);
  }

  /** Commit what is queued and refuse further publishes. */
  close(): void {
    this.flush();
    this.closed = true;
  }
}
