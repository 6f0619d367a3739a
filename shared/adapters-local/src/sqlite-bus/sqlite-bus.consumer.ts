import {
  errorMessage,
  type Topic,
  type WireMessage,
  type Delivery,
  type DeliveryHandler,
  type Publisher,
  type SubscriptionSpec,
  reportDeadLetter,
  type DeadLetterReport,
  type AnyEvent,
  decodeMessage,
  settle,
  type Settlement,
} from '@mlops/kernel';
import type Database from 'better-sqlite3';
import type { MessageRow, SqliteBusDatabase } from './sqlite-bus.database.js';
import type { SqliteDeadLetters } from './sqlite-bus.dead-letters.js';

/**
 * A message leased to this consumer, then (the same object, none per step) what became of it,
 * recorded with the others of the same tick in one transaction.
 */
interface ClaimedRow {
  seq: number;
  message: WireMessage;
  publishedAt: number;
  attempts: number;
  /** The first seq of the fresh range it was leased in; undefined for an exception row. */
  range: number | undefined;
  kind: 'ack' | 'retry' | 'dead';
  dueAt: number | undefined;
  /** For a dead letter: what is recorded, then reported once it is. */
  report: DeadLetterReport | undefined;
}

/** A settled delivery (its row with the outcome filled in). */
type Outcome = ClaimedRow;

function claimedRow(
  seq: number,
  message: WireMessage,
  publishedAt: number,
  attempts: number,
  range: number | undefined,
): ClaimedRow {
  return { seq, message, publishedAt, attempts, range, kind: 'ack', dueAt: undefined, report: undefined };
}

/**
 * How many messages a consumer leases in microtasks, one cycle after another, before it lets the
 * event loop turn (timers, I/O, other work) with a cycle from `setImmediate`.
 */
const TURN_MESSAGES = 1_024;

/**
 * The facts of one delivery; `messageId` and `publishedAt` are made on first read (most handlers
 * read neither). It is also the decode options: the publish time is the event's `time` only when
 * it has none.
 */
class LeasedDelivery implements Delivery {
  private id: string | undefined;
  private published: Date | undefined;
  constructor(
    private readonly seq: number,
    readonly subscription: string,
    readonly attempt: number,
    private readonly publishedMs: number,
  ) {}
  get messageId(): string {
    this.id ??= String(this.seq);
    return this.id;
  }
  get publishedAt(): Date {
    this.published ??= new Date(this.publishedMs);
    return this.published;
  }
  /** As logged or serialised: the plain facts. */
  toJSON(): Delivery {
    return {
      messageId: this.messageId,
      subscription: this.subscription,
      attempt: this.attempt,
      publishedAt: this.publishedAt,
    };
  }
}

/** What a cycle recorded and leased, and when to look again (undefined: a finishing handler wakes it). */
interface Cycle {
  recorded: readonly DeadLetterReport[];
  claimed: readonly ClaimedRow[];
  due: number | null | undefined;
}

const NO_REPORTS: readonly DeadLetterReport[] = [];
const NO_ROWS: readonly ClaimedRow[] = [];

/** A fresh range leased past the head: one lease row, released once every message in it is settled. */
interface HeldRange {
  unsettled: number;
}

/** What a consumer needs of the bus. */
export interface ConsumerContext {
  database: SqliteBusDatabase;
  deadLetters: SqliteDeadLetters;
  /** Where a dead letter that never reached the handler is announced. */
  publisher: Publisher;
}

/**
 * One subscription's consumer inside this process. It leases due deliveries up to its concurrency
 * (a killed process's leases expire, so another consumer takes its messages up), keeps the leases
 * alive while handlers run, decodes, validates and hands each to its handler, settles the outcome, and records the settlements of
 * a tick in one transaction; dead letters are then reported (logged, and announced when the
 * message never reached the handler).
 */
export class SqliteConsumer {
  readonly topic: Topic;
  /** Deliveries in hand or settled and not yet recorded (their leases are kept alive). */
  private held = 0;
  private readonly ranges = new Map<number, HeldRange>();
  /**
   * When to look at exception rows and expired leases again. Rows this consumer writes move it
   * earlier; those of other processes (and replays, redrives) are found within the poll interval.
   */
  private exceptionsCheckAt = 0;
  private running = 0;
  private outcomes: Outcome[] = [];
  private timer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private pumping = false;
  /** Messages leased since the cycle last ran from `setImmediate`. */
  private leasedThisTurn = 0;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  private readonly reporting = new Set<Promise<void>>();

  constructor(
    private readonly context: ConsumerContext,
    private readonly spec: SubscriptionSpec,
    private readonly handler: DeliveryHandler,
    private readonly settings: { maxAttempts: number; backoff: { minMs: number; maxMs: number }; concurrency: number },
  ) {
    this.topic = spec.topic;
    const db = context.database.db;
    this.cycle = db.transaction((outcomes: Outcome[], free: number): Cycle => {
      const recorded = outcomes.length > 0 ? this.record(outcomes) : NO_REPORTS;
      const claimed = free > 0 ? this.claim(free) : NO_ROWS;
      // When handlers stay free, when the next delivery falls due (a finishing handler wakes us otherwise).
      const due = claimed.length < free ? this.nextDue() : undefined;
      return { recorded, claimed, due };
    });
    this.recordOnly = db.transaction((outcomes: Outcome[]) => this.record(outcomes));
  }

  private get database(): SqliteBusDatabase {
    return this.context.database;
  }

  start(): void {
    this.heartbeat = setInterval(
      () => {
        if (this.held > 0) this.extend();
      },
      Math.max(50, Math.floor(this.database.leaseMs / 3)),
    );
    this.heartbeat.unref();
    this.wake();
  }

  /** Look at exception rows at the next cycle (after a replay or redrive). */
  refresh(): void {
    this.exceptionsCheckAt = 0;
    this.wake();
  }

  /**
   * Run a cycle soon: in a microtask (so a consumer keeps pace with a publisher in the same process
   * and the messages in memory stay few), from `setImmediate` once {@link TURN_MESSAGES} were leased
   * in microtasks (the event loop turns at least that often).
   */
  wake(): void {
    if (this.closed || this.pumping) return;
    this.pumping = true;
    if (this.leasedThisTurn < TURN_MESSAGES) queueMicrotask(this.pumpSoon);
    else setImmediate(this.pumpNextTurn);
  }

  private readonly pumpSoon = (): void => {
    this.pumping = false;
    this.pump();
  };

  private readonly pumpNextTurn = (): void => {
    this.leasedThisTurn = 0;
    this.pumping = false;
    this.pump();
  };

  /**
   * One cycle: record the settlements gathered since the last one and lease what is due, in one
   * transaction (one commit per batch, not two), then start the handlers of what was leased.
   */
  private pump(): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const outcomes = this.outcomes;
    this.outcomes = [];
    const free = this.settings.concurrency - this.running;
    let cycle: Cycle;
    try {
      cycle = this.cycle.immediate(outcomes, free);
    } catch (error) {
      // Another process held the bus file past the busy timeout: nothing was recorded nor leased;
      // the settlements wait for the next cycle.
      this.outcomes = outcomes.concat(this.outcomes);
      if (!isBusy(error)) throw error;
      this.timer = setTimeout(() => this.pump(), this.database.pollMs);
      this.timer.unref();
      return;
    }
    this.settled(outcomes, cycle.recorded);
    this.leasedThisTurn += cycle.claimed.length;
    for (const row of cycle.claimed) this.handle(row);
    if (cycle.due !== undefined) this.scheduleNext(cycle.due);
  }

  /**
   * A cycle's transaction body, wrapped once (`db.transaction` builds four wrapper functions and
   * their properties per call: ~1.6 % of the throughput run's main-thread samples when built per cycle).
   */
  private readonly cycle: Database.Transaction<(outcomes: Outcome[], free: number) => Cycle>;
  /** The settlements alone, in a transaction of their own (on close). */
  private readonly recordOnly: Database.Transaction<(outcomes: Outcome[]) => readonly DeadLetterReport[]>;

  /** The earliest due time of this subscription's open deliveries, null when there is none. */
  private nextDue(): number | null {
    return this.database.statements.nextDue.get(this.spec.name, this.spec.name) as number | null;
  }

  /** Look again when the next delivery falls due, or after the poll interval for other processes' publishes. */
  private scheduleNext(due: number | null): void {
    if (this.closed) return;
    const poll = this.database.pollMs;
    const delay = due === null ? poll : Math.min(poll, Math.max(0, due - Date.now()));
    this.timer = setTimeout(() => this.pump(), delay);
    this.timer.unref();
  }

  /**
   * Lease what is due to this process (inside the cycle's transaction): the messages of expired
   * leases become exception rows, due exception rows come first, then a fresh range past the head in
   * one lease row.
   */
  private claim(limit: number): ClaimedRow[] {
    const now = Date.now();
    const { statements, owner, leaseMs, pollMs } = this.database;
    const name = this.spec.name;
    let claimed: ClaimedRow[] = [];
    if (now >= this.exceptionsCheckAt) {
      for (const expired of statements.expiredLeases.all(name, now) as { first_seq: number; last_seq: number }[]) {
        statements.expandLease.run(name, now, this.topic, expired.first_seq, expired.last_seq);
        statements.dropLease.run(name, expired.first_seq);
      }
      claimed = this.claimExceptions(limit, now);
      if (claimed.length >= limit) return claimed;
      this.exceptionsCheckAt = now + pollMs;
    }
    const head = statements.head.get(name) as number;
    // The log's index alone gives the range; the messages come from this process's recent publishes
    // when it published them, from the log otherwise.
    const seqs = statements.fresh.all(this.topic, head, limit - claimed.length) as number[];
    if (seqs.length === 0) return claimed;
    const first = seqs[0]!;
    const last = seqs[seqs.length - 1]!;
    statements.setHead.run(last, name);
    statements.insertLease.run(name, first, last, owner, now + leaseMs);
    this.ranges.set(first, { unsettled: seqs.length });
    const missing: number[] = [];
    const start = claimed.length;
    for (const seq of seqs) {
      const recent = this.database.take(seq);
      if (recent) claimed.push(claimedRow(seq, recent.message, recent.publishedAt, 1, first));
      else missing.push(seq);
    }
    if (missing.length > 0) {
      for (const row of this.read(missing)) claimed.push(claimedRow(row.seq, row.message, row.publishedAt, 1, first));
      if (missing.length < seqs.length)
        claimed.splice(start, claimed.length - start, ...claimed.slice(start).sort((a, b) => a.seq - b.seq));
    }
    return claimed;
  }

  /** Messages of the log by seq. */
  private read(seqs: readonly number[]): Pick<ClaimedRow, 'seq' | 'message' | 'publishedAt'>[] {
    const rows = this.database.statements.leasedMessages.all(JSON.stringify(seqs)) as Omit<MessageRow, 'topic'>[];
    return rows.map((row) => ({ seq: row.seq, message: this.database.wireOf(row), publishedAt: row.published_at }));
  }

  /** Lease due exception rows (retries, replays, the messages of expired leases). */
  private claimExceptions(limit: number, now: number): ClaimedRow[] {
    const { statements, owner, leaseMs } = this.database;
    const name = this.spec.name;
    const leased = statements.lease.all(now + leaseMs, owner, name, name, now, limit) as {
      seq: number;
      attempts: number;
    }[];
    if (leased.length === 0) return [];
    const messages = new Map(this.read(leased.map((row) => row.seq)).map((row) => [row.seq, row]));
    leased.sort((a, b) => a.seq - b.seq);
    return leased.map((row) => {
      const read = messages.get(row.seq)!;
      return claimedRow(row.seq, read.message, read.publishedAt, row.attempts, undefined);
    });
  }

  /** Extend the leases of the messages in hand. */
  private extend(): void {
    const { db, statements, owner, leaseMs } = this.database;
    const due = Date.now() + leaseMs;
    db.transaction(() => {
      statements.extendLeases.run(due, this.spec.name, owner);
      statements.extend.run(due, this.spec.name, owner);
    })();
  }

  /**
   * Decode and validate the message, run the handler and settle the outcome (the rule every
   * transport shares, `settle`); one promise per delivery besides the handler's own.
   */
  private handle(row: ClaimedRow): void {
    this.running += 1;
    this.held += 1;
    const delivery = new LeasedDelivery(row.seq, this.spec.name, row.attempts, row.publishedAt);
    let event: AnyEvent;
    try {
      event = decodeMessage(row.message, this.database.maxMessageBytes, delivery);
    } catch (error) {
      // Never reaches the handler: settled as the permanent error it is, after this cycle as any other.
      queueMicrotask(() => this.failed(row, undefined, false, error));
      return;
    }
    let pending: Promise<void>;
    try {
      pending = this.handler(event, delivery);
    } catch (error) {
      queueMicrotask(() => this.failed(row, event, true, error));
      return;
    }
    Promise.resolve(pending).then(
      () => this.finish(row),
      (error: unknown) => this.failed(row, event, true, error),
    );
  }

  private failed(row: ClaimedRow, event: AnyEvent | undefined, handled: boolean, error: unknown): void {
    this.finish(row, settle({ ok: false, error }, row.attempts, this.settings), event, handled);
  }

  /** Record what became of a delivery (an ack unless a settlement is given), for the next cycle. */
  private finish(row: ClaimedRow, settlement?: Settlement, event?: AnyEvent, handled = true): void {
    if (row.range !== undefined) this.ranges.get(row.range)!.unsettled -= 1;
    const outcome: Outcome = row;
    if (settlement === undefined || settlement.action === 'ack') {
      // An ack: the row as leased.
    } else if (settlement.action === 'retry') {
      outcome.kind = 'retry';
      outcome.dueAt = Date.now() + settlement.delayMs;
    } else {
      outcome.kind = 'dead';
      outcome.report = {
        subscription: this.spec.name,
        topic: this.topic,
        messageId: String(row.seq),
        attempts: row.attempts,
        settlement,
        message: row.message,
        handled,
        ...(event ? { event } : {}),
      };
    }
    this.outcomes.push(outcome);
    this.running -= 1;
    if (this.closed) {
      if (this.running === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
    } else this.wake();
  }

  /** Record settlements (inside the caller's transaction); returns the dead letters recorded. */
  private record(outcomes: Outcome[]): DeadLetterReport[] {
    const now = Date.now();
    const { statements, owner } = this.database;
    const name = this.spec.name;
    const recorded: DeadLetterReport[] = [];
    // A fresh range still ours: released once all of it is settled. One lost to another process
    // (it expired) has become exception rows, and whoever leases those decides.
    const owned = new Map<number, boolean>();
    const ours = (range: number) => {
      let mine = owned.get(range);
      if (mine === undefined) {
        mine =
          this.ranges.get(range)!.unsettled === 0
            ? statements.releaseLease.run(name, range, owner).changes > 0
            : statements.ownsLease.get(name, range, owner) !== undefined;
        owned.set(range, mine);
      }
      return mine;
    };
    let acked = 0;
    const ackedExceptions: number[] = [];
    for (const outcome of outcomes) {
      const fresh = outcome.range !== undefined;
      if (fresh && !ours(outcome.range!)) continue;
      if (outcome.kind === 'ack') {
        if (fresh) acked += 1;
        else ackedExceptions.push(outcome.seq);
      } else if (outcome.kind === 'retry') {
        if (fresh) statements.insertRetry.run(name, outcome.seq, outcome.attempts, outcome.dueAt ?? now);
        else statements.retry.run(outcome.dueAt ?? now, name, outcome.seq, owner);
        this.exceptionsCheckAt = Math.min(this.exceptionsCheckAt, outcome.dueAt ?? now);
      } else if (outcome.report) {
        if (fresh) statements.insertDead.run(name, outcome.seq, outcome.attempts, now);
        // Our lease was lost when nothing changed: whoever holds it now decides.
        else if (statements.kill.run(name, outcome.seq, owner).changes === 0) continue;
        const { report } = outcome;
        this.context.deadLetters.record(
          name,
          this.topic,
          outcome.seq,
          report.message,
          {
            subscription: name,
            topic: this.topic,
            code: report.settlement.code,
            reason: report.settlement.reason,
            attempts: outcome.attempts,
          },
          now,
        );
        recorded.push(report);
      }
    }
    if (ackedExceptions.length > 0)
      acked += statements.ackMany.run(name, owner, JSON.stringify(ackedExceptions)).changes;
    if (acked > 0) statements.countAcked.run(acked, name);
    return recorded;
  }

  /** After settlements are recorded: release them and report the dead letters. */
  private settled(outcomes: Outcome[], recorded: readonly DeadLetterReport[]): void {
    this.held -= outcomes.length;
    for (const outcome of outcomes) {
      if (outcome.range !== undefined && this.ranges.get(outcome.range)?.unsettled === 0)
        this.ranges.delete(outcome.range);
    }
    for (const report of recorded) {
      const reporting: Promise<void> = reportDeadLetter(report, {
        publisher: this.context.publisher,
        log: this.database.log,
      })
        .catch((error: unknown) =>
          this.database.log.error('could not report a dead letter', { error: errorMessage(error) }),
        )
        .finally(() => this.reporting.delete(reporting));
      this.reporting.add(reporting);
    }
  }

  /** Record what is settled in a transaction of its own (on close, when no cycle follows). */
  private flushOutcomes(): void {
    const outcomes = this.outcomes;
    this.outcomes = [];
    if (outcomes.length === 0) return;
    const recorded = this.recordOnly(outcomes);
    this.settled(outcomes, recorded);
  }

  /** Stop taking messages, wait for the ones in hand and their reports. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.running > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    this.flushOutcomes();
    await Promise.all([...this.reporting]);
  }
}

/** SQLite's "database is locked" (SQLITE_BUSY, SQLITE_LOCKED and their extended codes). */
function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^SQLITE_(BUSY|LOCKED)/.test(code);
}
