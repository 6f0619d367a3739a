import {
  PermanentError,
  isTopic,
  type Topic,
  type ReplayResult,
  type SubscriptionAdmin,
  type SubscriptionSpec,
  type SubscriptionStats,
} from '@mlops/kernel';
import { DEAD, LEASED, PENDING, type SqliteBusDatabase } from './sqlite-bus.database.js';

/** A subscription's settings as stored (the latest `ensureSubscription` wins). */
export interface StoredSubscription {
  topic: Topic;
  maxAttempts: number;
  backoff: { minMs: number; maxMs: number };
}

/**
 * Subscriptions on the SQLite bus: provisioning (a subscription receives every message published
 * on its topic from its creation on), replay (deliveries put back from a point in time) and the
 * per-subscription counts that status views show.
 */
export class SqliteSubscriptions implements SubscriptionAdmin {
  constructor(
    private readonly database: SqliteBusDatabase,
    private readonly wake: () => void,
  ) {}

  async ensureSubscription(spec: SubscriptionSpec): Promise<void> {
    this.ensure(spec);
  }

  /** Create or update a subscription and resolve to its stored settings. */
  ensure(spec: SubscriptionSpec): StoredSubscription {
    if (!isTopic(spec.topic)) throw new PermanentError('BUS.UNKNOWN_TOPIC', `unknown topic "${spec.topic}"`);
    const { statements } = this.database;
    const existing = statements.getSubscription.get(spec.name) as { topic: string } | undefined;
    if (existing && existing.topic !== spec.topic) {
      throw new PermanentError(
        'BUS.SUBSCRIPTION_CONFLICT',
        `subscription ${spec.name} exists on topic ${existing.topic}, not ${spec.topic}`,
      );
    }
    const backoff = spec.backoff ?? this.database.backoff;
    const maxAttempts = spec.maxAttempts ?? this.database.maxAttempts;
    statements.upsertSubscription.run(spec.name, spec.topic, maxAttempts, backoff.minMs, backoff.maxMs, Date.now());
    return { topic: spec.topic, maxAttempts, backoff };
  }

  async replay(options: { topic: Topic; since: Date; subscription?: string }): Promise<ReplayResult> {
    const subscriptions = this.database.db
      .prepare('select count(*) as n from subscriptions where topic = ? and (? is null or name = ?)')
      .get(options.topic, options.subscription ?? null, options.subscription ?? null) as { n: number };
    const result = this.database.db
      .prepare(
        `insert into exceptions (subscription, seq, state, attempts, due_at)
         select s.name, m.seq, ${PENDING}, 0, ? from messages m join subscriptions s on s.topic = m.topic
         where m.topic = ? and m.published_at >= ? and m.published_at >= s.created_at and m.seq <= s.head
           and (? is null or s.name = ?)
         on conflict (subscription, seq) do update set state = ${PENDING}, attempts = 0, due_at = excluded.due_at, lease_owner = null`,
      )
      .run(
        Date.now(),
        options.topic,
        options.since.getTime(),
        options.subscription ?? null,
        options.subscription ?? null,
      );
    this.wake();
    return { subscriptions: subscriptions.n, deliveries: result.changes };
  }

  /** Pending: past the head plus pending exceptions; in flight: the leased ranges and exceptions. */
  async stats(): Promise<SubscriptionStats[]> {
    const { db } = this.database;
    const subscriptions = db
      .prepare(
        `select s.name, s.topic, s.acked,
           (select count(*) from messages m where m.topic = s.topic and m.seq > s.head) as fresh,
           (select coalesce(sum((select count(*) from messages m where m.topic = s.topic and m.seq between l.first_seq and l.last_seq)), 0)
              from leases l where l.subscription = s.name) as ranged
         from subscriptions s order by s.name`,
      )
      .all() as { name: string; topic: string; acked: number; fresh: number; ranged: number }[];
    const counts = db
      .prepare('select subscription, state, count(*) as n from exceptions group by subscription, state')
      .all() as { subscription: string; state: number; n: number }[];
    return subscriptions.map(({ name, topic, acked, fresh, ranged }) => {
      const of = (state: number) => counts.find((c) => c.subscription === name && c.state === state)?.n ?? 0;
      return {
        subscription: name,
        topic,
        pending: fresh + of(PENDING),
        inFlight: ranged + of(LEASED),
        acked,
        dead: of(DEAD),
      };
    });
  }
}
