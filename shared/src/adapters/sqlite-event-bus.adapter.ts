import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { randomBytes } from 'node:crypto';
import { PermanentError, classifyError, errorCode, errorMessage } from '../errors.js';
import type { AnyEvent } from '../events/cloud-event.js';
import { DEAD_LETTER_TOPIC, isTopic, topicOf, type Topic } from '../events/event-catalog.js';
import { validateEvent } from '../events/event-validator.js';
import {
  DEFAULT_MAX_MESSAGE_BYTES,
  claimedType,
  decodeMessage,
  encodeMessage,
  messageSize,
  type WireMessage,
} from '../events/message-codec.js';
import { SharedErrors } from '../errors.js';
import type {
  DeadLetter,
  Delivery,
  DeliveryHandler,
  EventBus,
  ReplayResult,
  SubscriptionHandle,
  SubscriptionSpec,
  SubscriptionStats,
} from '../ports/event-bus.port.js';
import { backoffDelay } from '../runtime/backoff.js';

/** Options of the embedded SQLite event bus. */
export interface SqliteEventBusOptions {
  /** Database file; `:memory:` only for single-process tests. */
  path: string;
  maxAttempts?: number;
  backoff?: { minMs: number; maxMs: number };
  maxMessageBytes?: number;
  /** How long a delivery stays leased to a consumer without a heartbeat (crash recovery time). */
  leaseMs?: number;
  /** How often an idle consumer looks for messages published by other processes. */
  pollMs?: number;
  /** Most messages a consumer holds at once (claimed, not yet acknowledged). */
  prefetch?: number;
  /** Drop acknowledged messages older than this (default 7 days, Pub/Sub's default retention). */
  retentionMs?: number;
}

const PENDING = 0;
const LEASED = 1;
const ACKED = 2;
const DEAD = 3;

interface ClaimedRow {
  seq: number;
  attempts: number;
  attributes: string;
  data: Buffer;
  published_at: number;
}

interface Outcome {
  seq: number;
  attempts: number;
  kind: 'ack' | 'retry' | 'dead';
  code?: string;
  reason?: string;
  dueAt?: number;
  message?: WireMessage;
}

/**
 * The embedded, durable event bus: an append-only event log plus per-subscription delivery state in
 * one SQLite file (WAL). Deliveries are leased; a killed process leaves leases that expire, so a
 * restarted consumer (or another process) takes the messages up where they stopped. Publishes issued
 * in the same tick share one transaction; consumers in the same process are woken at once, others
 * poll.
 */
export class SqliteEventBus implements EventBus {
  private readonly db: Database.Database;
  private readonly owner = randomBytes(6).toString('hex');
  private readonly maxAttempts: number;
  private readonly backoff: { minMs: number; maxMs: number };
  readonly maxMessageBytes: number;
  readonly leaseMs: number;
  readonly pollMs: number;
  private readonly prefetch: number;
  private readonly consumers = new Set<SqliteConsumer>();
  private publishQueue: {
    topic: Topic;
    message: WireMessage;
    resolve: (id: string) => void;
    reject: (e: unknown) => void;
  }[] = [];
  private flushScheduled = false;
  private closed = false;
  private readonly statements;

  constructor(options: SqliteEventBusOptions) {
    if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
    this.db = new Database(options.path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 10000');
    this.maxAttempts = options.maxAttempts ?? 5;
    this.backoff = options.backoff ?? { minMs: 100, maxMs: 60_000 };
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.leaseMs = options.leaseMs ?? 30_000;
    this.pollMs = options.pollMs ?? 25;
    this.prefetch = options.prefetch ?? 256;
    this.migrate();
    this.statements = this.prepare();
    this.dropExpired(options.retentionMs ?? 7 * 24 * 3600 * 1000);
  }

  private migrate(): void {
    this.db.exec(`
      create table if not exists messages (
        seq integer primary key autoincrement,
        topic text not null,
        attributes text not null,
        data blob not null,
        published_at integer not null
      );
      create index if not exists messages_by_topic_time on messages(topic, published_at);
      create table if not exists subscriptions (
        name text primary key,
        topic text not null,
        max_attempts integer not null,
        backoff_min_ms integer not null,
        backoff_max_ms integer not null,
        created_at integer not null
      );
      create table if not exists deliveries (
        subscription text not null,
        seq integer not null,
        state integer not null,
        attempts integer not null default 0,
        due_at integer not null,
        lease_owner text,
        primary key (subscription, seq)
      ) without rowid;
      create index if not exists deliveries_ready on deliveries(subscription, due_at) where state in (0, 1);
      create table if not exists dead_letters (
        id integer primary key autoincrement,
        subscription text not null,
        seq integer not null,
        code text not null,
        reason text not null,
        attempts integer not null,
        dead_at integer not null,
        redriven_at integer
      );
      create index if not exists dead_letters_open on dead_letters(subscription) where redriven_at is null;
    `);
  }

  private prepare() {
    const db = this.db;
    return {
      insertMessage: db.prepare('insert into messages (topic, attributes, data, published_at) values (?, ?, ?, ?)'),
      fanOut: db.prepare(
        `insert into deliveries (subscription, seq, state, attempts, due_at) select name, ?, ${PENDING}, 0, ? from subscriptions where topic = ?`,
      ),
      upsertSubscription: db.prepare(
        `insert into subscriptions (name, topic, max_attempts, backoff_min_ms, backoff_max_ms, created_at) values (?, ?, ?, ?, ?, ?)
         on conflict(name) do update set max_attempts = excluded.max_attempts, backoff_min_ms = excluded.backoff_min_ms, backoff_max_ms = excluded.backoff_max_ms`,
      ),
      getSubscription: db.prepare(
        'select name, topic, max_attempts, backoff_min_ms, backoff_max_ms, created_at from subscriptions where name = ?',
      ),
      lease: db.prepare(
        `update deliveries set state = ${LEASED}, attempts = attempts + 1, due_at = ?, lease_owner = ?
         where subscription = ? and seq in (
           select seq from deliveries where subscription = ? and state in (${PENDING}, ${LEASED}) and due_at <= ? order by due_at, seq limit ?)
         returning seq, attempts`,
      ),
      leasedMessages: db.prepare(
        'select seq, attributes, data, published_at from messages where seq in (select value from json_each(?))',
      ),
      ackMany: db.prepare(
        `update deliveries set state = ${ACKED}, lease_owner = null where subscription = ? and lease_owner = ? and seq in (select value from json_each(?))`,
      ),
      extend: db.prepare(
        `update deliveries set due_at = ? where subscription = ? and seq = ? and state = ${LEASED} and lease_owner = ?`,
      ),
      retry: db.prepare(
        `update deliveries set state = ${PENDING}, due_at = ?, lease_owner = null where subscription = ? and seq = ? and lease_owner = ?`,
      ),
      kill: db.prepare(
        `update deliveries set state = ${DEAD}, lease_owner = null where subscription = ? and seq = ? and lease_owner = ?`,
      ),
      insertDeadLetter: db.prepare(
        'insert into dead_letters (subscription, seq, code, reason, attempts, dead_at) values (?, ?, ?, ?, ?, ?)',
      ),
      nextDue: db.prepare(
        `select min(due_at) as due from deliveries where subscription = ? and state in (${PENDING}, ${LEASED})`,
      ),
    };
  }

  private dropExpired(retentionMs: number): void {
    const cutoff = Date.now() - retentionMs;
    this.db
      .prepare(
        `delete from messages where published_at < ? and not exists (
           select 1 from deliveries d where d.seq = messages.seq and d.state in (${PENDING}, ${LEASED}, ${DEAD}))`,
      )
      .run(cutoff);
    this.db.prepare(`delete from deliveries where state = ${ACKED} and seq not in (select seq from messages)`).run();
  }

  async publish(event: AnyEvent): Promise<string> {
    const valid = validateEvent(event);
    const message = encodeMessage(valid);
    const size = messageSize(message);
    if (size > this.maxMessageBytes) throw SharedErrors.tooLarge(size, this.maxMessageBytes);
    const topic = topicOf(valid.type);
    return this.enqueue(topic, message);
  }

  /**
   * Append a message as it arrived from a producer, without validating it: what a foreign or
   * broken publisher could put on a topic. Consumers validate on receipt and dead-letter it.
   */
  async publishRaw(topic: Topic, message: WireMessage): Promise<string> {
    return this.enqueue(topic, message);
  }

  private enqueue(topic: Topic, message: WireMessage): Promise<string> {
    if (this.closed) return Promise.reject(new PermanentError('BUS.CLOSED', 'the event bus is closed'));
    return new Promise<string>((resolve, reject) => {
      this.publishQueue.push({ topic, message, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        queueMicrotask(() => this.flushPublishes());
      }
    });
  }

  private flushPublishes(): void {
    this.flushScheduled = false;
    const batch = this.publishQueue;
    this.publishQueue = [];
    if (batch.length === 0) return;
    const now = Date.now();
    const ids: string[] = [];
    try {
      this.db.transaction(() => {
        for (const item of batch) {
          const info = this.statements.insertMessage.run(
            item.topic,
            JSON.stringify(item.message.attributes),
            Buffer.from(item.message.data),
            now,
          );
          const seq = Number(info.lastInsertRowid);
          this.statements.fanOut.run(seq, now, item.topic);
          ids.push(String(seq));
        }
      })();
    } catch (error) {
      for (const item of batch) item.reject(error);
      return;
    }
    batch.forEach((item, index) => item.resolve(ids[index]!));
    for (const consumer of this.consumers) if (batch.some((item) => item.topic === consumer.topic)) consumer.wake();
  }

  async ensureSubscription(spec: SubscriptionSpec): Promise<void> {
    if (!isTopic(spec.topic)) throw new PermanentError('BUS.UNKNOWN_TOPIC', `unknown topic "${spec.topic}"`);
    const existing = this.statements.getSubscription.get(spec.name) as { topic: string } | undefined;
    if (existing && existing.topic !== spec.topic) {
      throw new PermanentError(
        'BUS.SUBSCRIPTION_CONFLICT',
        `subscription ${spec.name} exists on topic ${existing.topic}, not ${spec.topic}`,
      );
    }
    const backoff = spec.backoff ?? this.backoff;
    this.statements.upsertSubscription.run(
      spec.name,
      spec.topic,
      spec.maxAttempts ?? this.maxAttempts,
      backoff.minMs,
      backoff.maxMs,
      Date.now(),
    );
  }

  async subscribe(spec: SubscriptionSpec, handler: DeliveryHandler): Promise<SubscriptionHandle> {
    await this.ensureSubscription(spec);
    const row = this.statements.getSubscription.get(spec.name) as {
      max_attempts: number;
      backoff_min_ms: number;
      backoff_max_ms: number;
    };
    const consumer = new SqliteConsumer(this, spec, handler, {
      maxAttempts: row.max_attempts,
      backoff: { minMs: row.backoff_min_ms, maxMs: row.backoff_max_ms },
      concurrency: Math.max(1, spec.concurrency ?? 1),
    });
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

  /** @internal claim due deliveries for a consumer (lease them to this process). */
  claim(subscription: string, limit: number): ClaimedRow[] {
    if (limit <= 0) return [];
    const now = Date.now();
    return this.db
      .transaction(() => {
        const leased = this.statements.lease.all(
          now + this.leaseMs,
          this.owner,
          subscription,
          subscription,
          now,
          limit,
        ) as { seq: number; attempts: number }[];
        if (leased.length === 0) return [];
        const messages = new Map(
          (
            this.statements.leasedMessages.all(JSON.stringify(leased.map((row) => row.seq))) as Omit<
              ClaimedRow,
              'attempts'
            >[]
          ).map((row) => [row.seq, row]),
        );
        leased.sort((a, b) => a.seq - b.seq);
        return leased.map((row) => ({ ...messages.get(row.seq)!, attempts: row.attempts }));
      })
      .immediate();
  }

  /** @internal extend the leases of messages still in hand. */
  extend(subscription: string, seqs: Iterable<number>): void {
    const due = Date.now() + this.leaseMs;
    this.db.transaction(() => {
      for (const seq of seqs) this.statements.extend.run(due, subscription, seq, this.owner);
    })();
  }

  /** @internal record handler outcomes in one transaction. */
  settle(subscription: string, topic: Topic, outcomes: Outcome[]): void {
    const now = Date.now();
    this.db.transaction(() => {
      const acked = outcomes.filter((outcome) => outcome.kind === 'ack').map((outcome) => outcome.seq);
      if (acked.length > 0) this.statements.ackMany.run(subscription, this.owner, JSON.stringify(acked));
      for (const outcome of outcomes) {
        if (outcome.kind === 'ack') continue;
        else if (outcome.kind === 'retry')
          this.statements.retry.run(outcome.dueAt ?? now, subscription, outcome.seq, this.owner);
        else {
          const changed = this.statements.kill.run(subscription, outcome.seq, this.owner).changes;
          if (changed === 0) continue; // our lease was lost; whoever holds it now decides
          this.recordDeadLetter(
            subscription,
            topic,
            outcome.seq,
            outcome.message ?? { data: new Uint8Array(), attributes: {} },
            outcome.code ?? 'INTERNAL.UNEXPECTED',
            outcome.reason ?? '',
            outcome.attempts,
            now,
          );
        }
      }
    })();
  }

  private recordDeadLetter(
    subscription: string,
    topic: string,
    seq: number,
    message: WireMessage,
    code: string,
    reason: string,
    attempts: number,
    now: number,
  ): void {
    this.statements.insertDeadLetter.run(subscription, seq, code, reason, attempts, now);
    // The dead-letter topic carries the message and its reason, as Pub/Sub's dead-letter policy does.
    const attributes = {
      ...message.attributes,
      'x-dead-letter-code': code,
      'x-dead-letter-reason': reason.slice(0, 1000),
      'x-dead-letter-subscription': subscription,
      'x-dead-letter-topic': topic,
      'x-dead-letter-attempts': String(attempts),
    };
    const info = this.statements.insertMessage.run(
      DEAD_LETTER_TOPIC,
      JSON.stringify(attributes),
      Buffer.from(message.data),
      now,
    );
    this.statements.fanOut.run(Number(info.lastInsertRowid), now, DEAD_LETTER_TOPIC);
  }

  async deadLetter(
    message: WireMessage,
    info: { subscription: string; topic: string; code: string; reason: string; attempts: number },
  ): Promise<void> {
    const now = Date.now();
    const topic = isTopic(info.topic) ? info.topic : DEAD_LETTER_TOPIC;
    this.db.transaction(() => {
      const seq = Number(
        this.statements.insertMessage.run(topic, JSON.stringify(message.attributes), Buffer.from(message.data), now)
          .lastInsertRowid,
      );
      this.db
        .prepare(
          `insert into deliveries (subscription, seq, state, attempts, due_at) values (?, ?, ${DEAD}, ?, ?) on conflict do nothing`,
        )
        .run(info.subscription, seq, info.attempts, now);
      this.recordDeadLetter(info.subscription, topic, seq, message, info.code, info.reason, info.attempts, now);
    })();
  }

  /** @internal when the subscription next has something due, or undefined. */
  nextDue(subscription: string): number | undefined {
    const row = this.statements.nextDue.get(subscription) as { due: number | null };
    return row.due ?? undefined;
  }

  async listDeadLetters(filter: { subscription?: string; limit?: number } = {}): Promise<DeadLetter[]> {
    const rows = this.db
      .prepare(
        `select dl.id, dl.subscription, dl.seq, dl.code, dl.reason, dl.attempts, dl.dead_at, m.topic, m.attributes, m.data
         from dead_letters dl join messages m on m.seq = dl.seq
         where dl.redriven_at is null and (? is null or dl.subscription = ?)
         order by dl.id desc limit ?`,
      )
      .all(filter.subscription ?? null, filter.subscription ?? null, filter.limit ?? 100) as {
      id: number;
      subscription: string;
      seq: number;
      code: string;
      reason: string;
      attempts: number;
      dead_at: number;
      topic: string;
      attributes: string;
      data: Buffer;
    }[];
    return rows.map((row) => {
      const attributes = JSON.parse(row.attributes) as Record<string, string>;
      const message: WireMessage = { data: new Uint8Array(row.data), attributes };
      const letter: DeadLetter = {
        id: String(row.id),
        subscription: row.subscription,
        topic: row.topic,
        messageId: String(row.seq),
        code: row.code,
        reason: row.reason,
        attempts: row.attempts,
        deadAt: new Date(row.dead_at),
        message,
      };
      const type = claimedType(message);
      if (type) letter.eventType = type;
      if (attributes['ce-id']) letter.eventId = attributes['ce-id'];
      if (attributes['ce-runid']) letter.runId = attributes['ce-runid'];
      return letter;
    });
  }

  async redrive(filter: { ids?: readonly string[]; subscription?: string } = {}): Promise<number> {
    const now = Date.now();
    const rows = this.db
      .prepare(
        'select id, subscription, seq from dead_letters where redriven_at is null and (? is null or subscription = ?) order by id',
      )
      .all(filter.subscription ?? null, filter.subscription ?? null) as {
      id: number;
      subscription: string;
      seq: number;
    }[];
    const wanted = filter.ids ? new Set(filter.ids) : undefined;
    const chosen = rows.filter((row) => !wanted || wanted.has(String(row.id)));
    this.db.transaction(() => {
      for (const row of chosen) {
        this.db.prepare('update dead_letters set redriven_at = ? where id = ?').run(now, row.id);
        this.db
          .prepare(
            `update deliveries set state = ${PENDING}, attempts = 0, due_at = ?, lease_owner = null where subscription = ? and seq = ?`,
          )
          .run(now, row.subscription, row.seq);
      }
    })();
    this.wakeAll();
    return chosen.length;
  }

  async replay(options: { topic: Topic; since: Date; subscription?: string }): Promise<ReplayResult> {
    const now = Date.now();
    const subscriptions = this.db
      .prepare('select count(*) as n from subscriptions where topic = ? and (? is null or name = ?)')
      .get(options.topic, options.subscription ?? null, options.subscription ?? null) as { n: number };
    const result = this.db
      .prepare(
        `insert into deliveries (subscription, seq, state, attempts, due_at)
         select s.name, m.seq, ${PENDING}, 0, ? from messages m join subscriptions s on s.topic = m.topic
         where m.topic = ? and m.published_at >= ? and m.published_at >= s.created_at and (? is null or s.name = ?)
         on conflict (subscription, seq) do update set state = ${PENDING}, attempts = 0, due_at = excluded.due_at, lease_owner = null`,
      )
      .run(now, options.topic, options.since.getTime(), options.subscription ?? null, options.subscription ?? null);
    this.wakeAll();
    return { subscriptions: subscriptions.n, deliveries: result.changes };
  }

  async stats(): Promise<SubscriptionStats[]> {
    const subscriptions = this.db.prepare('select name, topic from subscriptions order by name').all() as {
      name: string;
      topic: string;
    }[];
    const counts = this.db
      .prepare('select subscription, state, count(*) as n from deliveries group by subscription, state')
      .all() as { subscription: string; state: number; n: number }[];
    return subscriptions.map(({ name, topic }) => {
      const of = (state: number) => counts.find((c) => c.subscription === name && c.state === state)?.n ?? 0;
      return {
        subscription: name,
        topic,
        pending: of(PENDING),
        inFlight: of(LEASED),
        acked: of(ACKED),
        dead: of(DEAD),
      };
    });
  }

  private wakeAll(): void {
    for (const consumer of this.consumers) consumer.wake();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.flushPublishes();
    this.closed = true;
    await Promise.all([...this.consumers].map((consumer) => consumer.close()));
    this.consumers.clear();
    this.db.close();
  }
}

/** One subscription's consumer inside this process. */
class SqliteConsumer {
  readonly topic: Topic;
  private readonly held = new Set<number>();
  private running = 0;
  private outcomes: Outcome[] = [];
  private timer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private pumping = false;
  private closed = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly bus: SqliteEventBus,
    private readonly spec: SubscriptionSpec,
    private readonly handler: DeliveryHandler,
    private readonly settings: { maxAttempts: number; backoff: { minMs: number; maxMs: number }; concurrency: number },
  ) {
    this.topic = spec.topic;
  }

  start(): void {
    this.heartbeat = setInterval(
      () => {
        if (this.held.size > 0) this.bus.extend(this.spec.name, this.held);
      },
      Math.max(50, Math.floor(this.bus.leaseMs / 3)),
    );
    this.heartbeat.unref();
    this.wake();
  }

  wake(): void {
    if (this.closed || this.pumping) return;
    this.pumping = true;
    setImmediate(() => {
      this.pumping = false;
      this.pump();
    });
  }

  private pump(): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const free = this.settings.concurrency - this.running;
    if (free > 0) {
      const rows = this.bus.claim(this.spec.name, free);
      for (const row of rows) this.handle(row);
    }
    this.scheduleNext();
  }

  private scheduleNext(): void {
    if (this.closed) return;
    if (this.running >= this.settings.concurrency) return; // a finishing handler wakes us
    const due = this.bus.nextDue(this.spec.name);
    const delay = due === undefined ? this.bus.pollMs : Math.min(this.bus.pollMs, Math.max(0, due - Date.now()));
    this.timer = setTimeout(() => this.pump(), delay);
    this.timer.unref();
  }

  private handle(row: ClaimedRow): void {
    this.running += 1;
    this.held.add(row.seq);
    const message: WireMessage = {
      data: new Uint8Array(row.data),
      attributes: JSON.parse(row.attributes) as Record<string, string>,
    };
    const delivery: Delivery = {
      messageId: String(row.seq),
      subscription: this.spec.name,
      attempt: row.attempts,
      publishedAt: new Date(row.published_at),
    };
    let event: AnyEvent;
    try {
      event = decodeMessage(message, this.bus.maxMessageBytes);
    } catch (error) {
      this.finish(row, message, error);
      return;
    }
    this.handler(event, delivery).then(
      () => this.finish(row, message, undefined),
      (error: unknown) => this.finish(row, message, error),
    );
  }

  private finish(row: ClaimedRow, message: WireMessage, error: unknown): void {
    if (error === undefined) {
      this.outcomes.push({ seq: row.seq, attempts: row.attempts, kind: 'ack' });
    } else if (classifyError(error) === 'permanent' || row.attempts >= this.settings.maxAttempts) {
      const exhausted = classifyError(error) !== 'permanent';
      this.outcomes.push({
        seq: row.seq,
        attempts: row.attempts,
        kind: 'dead',
        code: exhausted ? `BUS.MAX_ATTEMPTS` : errorCode(error),
        reason: exhausted
          ? `gave up after ${row.attempts} attempts: [${errorCode(error)}] ${errorMessage(error)}`
          : errorMessage(error),
        message,
      });
    } else {
      this.outcomes.push({
        seq: row.seq,
        attempts: row.attempts,
        kind: 'retry',
        dueAt: Date.now() + backoffDelay(row.attempts, this.settings.backoff),
      });
    }
    this.running -= 1;
    if (this.outcomes.length === 1) queueMicrotask(() => this.flushOutcomes());
  }

  private flushOutcomes(): void {
    const outcomes = this.outcomes;
    this.outcomes = [];
    if (outcomes.length === 0) return;
    this.bus.settle(this.spec.name, this.topic, outcomes);
    for (const outcome of outcomes) this.held.delete(outcome.seq);
    if (this.running === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
    this.wake();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.running > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    this.flushOutcomes();
  }
}
