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
  runDelivery,
  type SettledDelivery,
} from '@mlops/kernel';
import { wireOf, type MessageRow, type SqliteBusDatabase } from './sqlite-bus.database.js';
import type { SqliteDeadLetters } from './sqlite-bus.dead-letters.js';

interface ClaimedRow extends Omit<MessageRow, 'topic'> {
  attempts: number;
}

/** What became of a delivery, recorded with the others of the same tick in one transaction. */
interface Outcome {
  seq: number;
  attempts: number;
  kind: 'ack' | 'retry' | 'dead';
  dueAt?: number;
  /** For a dead letter: what is recorded, then reported once it is. */
  report?: DeadLetterReport;
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
 * alive while handlers run, runs each through {@link runDelivery}, and records the settlements of
 * a tick in one transaction; dead letters are then reported (logged, and announced when the
 * message never reached the handler).
 */
export class SqliteConsumer {
  readonly topic: Topic;
  private readonly held = new Set<number>();
  private running = 0;
  private outcomes: Outcome[] = [];
  private timer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private pumping = false;
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
  }

  private get database(): SqliteBusDatabase {
    return this.context.database;
  }

  start(): void {
    this.heartbeat = setInterval(
      () => {
        if (this.held.size > 0) this.extend();
      },
      Math.max(50, Math.floor(this.database.leaseMs / 3)),
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
    try {
      const free = this.settings.concurrency - this.running;
      if (free > 0) for (const row of this.claim(free)) this.handle(row);
      this.scheduleNext();
    } catch (error) {
      // Another process held the bus file past the busy timeout: nothing was leased; try again later.
      if (!isBusy(error)) throw error;
      this.timer = setTimeout(() => this.pump(), this.database.pollMs);
      this.timer.unref();
    }
  }

  private scheduleNext(): void {
    if (this.closed) return;
    if (this.running >= this.settings.concurrency) return; // a finishing handler wakes us
    const row = this.database.statements.nextDue.get(this.spec.name) as { due: number | null };
    const due = row.due ?? undefined;
    const poll = this.database.pollMs;
    const delay = due === undefined ? poll : Math.min(poll, Math.max(0, due - Date.now()));
    this.timer = setTimeout(() => this.pump(), delay);
    this.timer.unref();
  }

  /** Lease due deliveries to this process. */
  private claim(limit: number): ClaimedRow[] {
    const now = Date.now();
    const { db, statements, owner, leaseMs } = this.database;
    const name = this.spec.name;
    return db
      .transaction(() => {
        const leased = statements.lease.all(now + leaseMs, owner, name, name, now, limit) as {
          seq: number;
          attempts: number;
        }[];
        if (leased.length === 0) return [];
        const rows = statements.leasedMessages.all(JSON.stringify(leased.map((row) => row.seq))) as Omit<
          ClaimedRow,
          'attempts'
        >[];
        const messages = new Map(rows.map((row) => [row.seq, row]));
        leased.sort((a, b) => a.seq - b.seq);
        return leased.map((row) => ({ ...messages.get(row.seq)!, attempts: row.attempts }));
      })
      .immediate();
  }

  /** Extend the leases of the messages in hand. */
  private extend(): void {
    const { db, statements, owner, leaseMs } = this.database;
    const due = Date.now() + leaseMs;
    db.transaction(() => {
      for (const seq of this.held) statements.extend.run(due, this.spec.name, seq, owner);
    })();
  }

  private handle(row: ClaimedRow): void {
    this.running += 1;
    this.held.add(row.seq);
    const message = wireOf(row);
    const delivery: Delivery = {
      messageId: String(row.seq),
      subscription: this.spec.name,
      attempt: row.attempts,
      publishedAt: new Date(row.published_at),
    };
    void runDelivery(message, delivery, this.handler, {
      policy: this.settings,
      maxMessageBytes: this.database.maxMessageBytes,
    }).then((settled) => this.finish(row, message, settled));
  }

  private finish(row: ClaimedRow, message: WireMessage, settled: SettledDelivery): void {
    const { settlement } = settled;
    const base = { seq: row.seq, attempts: row.attempts };
    if (settlement.action === 'ack') this.outcomes.push({ ...base, kind: 'ack' });
    else if (settlement.action === 'retry')
      this.outcomes.push({ ...base, kind: 'retry', dueAt: Date.now() + settlement.delayMs });
    else {
      const report: DeadLetterReport = {
        subscription: this.spec.name,
        topic: this.topic,
        messageId: String(row.seq),
        attempts: row.attempts,
        settlement,
        message,
        handled: settled.handled,
        ...(settled.event ? { event: settled.event } : {}),
      };
      this.outcomes.push({ ...base, kind: 'dead', report });
    }
    this.running -= 1;
    if (this.outcomes.length === 1) queueMicrotask(() => this.flushOutcomes());
  }

  /** Record the tick's outcomes in one transaction; resolves to the dead letters recorded. */
  private record(outcomes: Outcome[]): DeadLetterReport[] {
    const now = Date.now();
    const { db, statements, owner } = this.database;
    const name = this.spec.name;
    const recorded: DeadLetterReport[] = [];
    db.transaction(() => {
      const acked = outcomes.filter((outcome) => outcome.kind === 'ack').map((outcome) => outcome.seq);
      if (acked.length > 0) statements.ackMany.run(name, owner, JSON.stringify(acked));
      for (const outcome of outcomes) {
        if (outcome.kind === 'retry') statements.retry.run(outcome.dueAt ?? now, name, outcome.seq, owner);
        if (outcome.kind !== 'dead' || !outcome.report) continue;
        // Our lease was lost when nothing changed: whoever holds it now decides.
        if (statements.kill.run(name, outcome.seq, owner).changes === 0) continue;
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
    })();
    return recorded;
  }

  private flushOutcomes(): void {
    const outcomes = this.outcomes;
    this.outcomes = [];
    if (outcomes.length === 0) return;
    const recorded = this.record(outcomes);
    for (const outcome of outcomes) this.held.delete(outcome.seq);
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
    if (this.running === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
    this.wake();
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
