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
import type { EncodedMessage, RecentMessage, SqliteBusDatabase } from './sqlite-bus.database.js';

/**
 * A publish from its call to its commit, then (one object all along, none per step) the message
 * kept for this process's consumers.
 */
interface Queued extends EncodedMessage, RecentMessage {
  topic: Topic;
  resolve: (id: string) => void;
  reject: (error: unknown) => void;
}

const settledAlready = () => undefined;

/**
 * How many messages the publisher commits from microtasks before its next flush waits for
 * `setImmediate`: a producer publishing without pause lets the event loop (and this process's
 * consumers) turn at least that often, so what it publishes does not pile up in memory.
 */
const TURN_MESSAGES = 512;
const NO_DATA = Buffer.alloc(0);

/**
 * Publishing on the SQLite bus: validate and encode, then append. Publishes issued in the same
 * tick share one transaction (one fsync-free WAL commit for a burst); once committed, the topics'
 * consumers in this process are woken (`onPublished`), those of other processes poll.
 */
export class SqlitePublisher implements Publisher {
  private queue: Queued[] = [];
  private flushScheduled = false;
  /** Messages committed since a flush last ran from `setImmediate`. */
  private flushedThisTurn = 0;
  private closed = false;
  /** A burst's append, wrapped in its transaction once (not per flush). */
  private readonly appendBurst: (batch: readonly Queued[], now: number) => number;
  /** The resolving functions of the promise being made by {@link capture}, taken at once by {@link enqueue}. */
  private resolveNext: (id: string) => void = settledAlready;
  private rejectNext: (error: unknown) => void = settledAlready;
  /** One executor for every publish's promise (no closure per publish). */
  private readonly capture = (resolve: (id: string) => void, reject: (error: unknown) => void): void => {
    this.resolveNext = resolve;
    this.rejectNext = reject;
  };

  constructor(
    private readonly database: SqliteBusDatabase,
    private readonly onPublished: (topics: ReadonlySet<Topic>) => void,
    /** How many consumers in this process read the topic (its messages are kept in memory for them). */
    private readonly consumers: (topic: Topic) => number = () => 1,
  ) {
    this.appendBurst = database.db.transaction((batch: readonly Queued[], now: number) =>
      database.appendMany(batch, now),
    );
  }

  publish(event: AnyEvent): Promise<string> {
    let message: WireMessage;
    let topic: Topic;
    try {
      // Only read, to be encoded at once: no copy of a complete event.
      const valid = validateEvent(event, { readOnly: true });
      message = encodeMessage(valid);
      const max = this.database.maxMessageBytes;
      if (!messageFits(message, max)) throw SharedErrors.tooLarge(messageSize(message), max);
      topic = topicOf(valid.type);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.enqueue(topic, message);
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
    const promise = new Promise<string>(this.capture);
    this.queue.push({
      topic,
      message,
      set: 0,
      values: '',
      data: NO_DATA,
      seq: 0,
      publishedAt: 0,
      readers: 0,
      resolve: this.resolveNext,
      reject: this.rejectNext,
    });
    this.resolveNext = settledAlready;
    this.rejectNext = settledAlready;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      if (this.flushedThisTurn < TURN_MESSAGES) queueMicrotask(this.flushSoon);
      else setImmediate(this.flushNextTurn);
    }
    return promise;
  }

  private readonly flushSoon = (): void => this.flush();

  private readonly flushNextTurn = (): void => {
    this.flushedThisTurn = 0;
    this.flush();
  };

  /** Commit what is queued in one transaction. */
  flush(): void {
    this.flushScheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    this.flushedThisTurn += batch.length;
    const now = Date.now();
    let first: number;
    try {
      for (const item of batch) this.database.encode(item);
      first = this.appendBurst(batch, now);
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
      const resolve = item.resolve;
      if (readers > 0) {
        // The queue entry itself is what the consumers take; the row's encoding is not kept alive.
        item.publishedAt = now;
        item.readers = readers;
        item.values = '';
        item.data = NO_DATA;
        item.resolve = settledAlready;
        item.reject = settledAlready;
        this.database.remember(seq, item);
      }
      resolve(String(seq));
    }
    this.onPublished(topics);
  }

  /** Commit what is queued and refuse further publishes. */
  close(): void {
    this.flush();
    this.closed = true;
  }
}
