import {
  DEAD_LETTER_TOPIC,
  isTopic,
  recoverEnvelope,
  type WireMessage,
  deadLetterForm,
  excerptInfo,
  type DeadLetter,
  type DeadLetterAdmin,
  type DeadLetterInfo,
  type DeadLetterSink,
} from '@mlops/kernel';
import { PENDING, PUSHED_TOPIC_PREFIX, type SqliteBusDatabase } from './sqlite-bus.database.js';

interface DeadLetterRow {
  id: number;
  subscription: string;
  seq: number;
  code: string;
  reason: string;
  attempts: number;
  dead_at: number;
  topic: string;
  attributes: string;
  attribute_set: number | null;
  data: Buffer;
}

/**
 * Dead letters on the SQLite bus: a row per dead delivery (listed and redriven from there), and a
 * copy on the dead-letter topic with the reason in `x-dead-letter-*` attributes, as Pub/Sub's
 * dead-letter policy does. An oversized message is copied and listed as a bounded excerpt.
 */
export class SqliteDeadLetters implements DeadLetterAdmin, DeadLetterSink {
  constructor(
    private readonly database: SqliteBusDatabase,
    private readonly wake: () => void,
  ) {}

  /** Record a dead delivery of message `seq` (inside the caller's transaction). */
  record(subscription: string, topic: string, seq: number, message: WireMessage, info: DeadLetterInfo, now: number) {
    this.database.statements.insertDeadLetter.run(subscription, topic, seq, info.code, info.reason, info.attempts, now);
    // A failure on the dead-letter topic itself stays listed but is not fed back to that topic.
    if (topic === DEAD_LETTER_TOPIC) return;
    const kept = deadLetterForm(message, this.database.maxMessageBytes);
    const attributes = {
      ...kept.attributes,
      'x-dead-letter-code': info.code,
      'x-dead-letter-reason': info.reason.slice(0, 1000),
      'x-dead-letter-subscription': subscription,
      'x-dead-letter-topic': topic,
      'x-dead-letter-attempts': String(info.attempts),
    };
    this.database.append(DEAD_LETTER_TOPIC, { data: kept.data, attributes }, now);
  }

  async deadLetter(message: WireMessage, info: DeadLetterInfo): Promise<void> {
    const now = Date.now();
    const topic = isTopic(info.topic) ? info.topic : DEAD_LETTER_TOPIC;
    // The message arrived some other way (an HTTP push): it is stored once, bounded like any dead letter.
    const kept = deadLetterForm(message, this.database.maxMessageBytes);
    const { statements } = this.database;
    this.database.db.transaction(() => {
      // Kept off the topic's log, which the subscriptions' cursors pass over.
      const seq = this.database.append(`${PUSHED_TOPIC_PREFIX}${topic}`, kept, now);
      statements.insertDead.run(info.subscription, seq, info.attempts, now);
      this.record(info.subscription, topic, seq, kept, info, now);
    })();
  }

  async listDeadLetters(filter: { subscription?: string; limit?: number } = {}): Promise<DeadLetter[]> {
    const rows = this.database.db
      .prepare(
        `select dl.id, dl.subscription, dl.seq, dl.code, dl.reason, dl.attempts, dl.dead_at, dl.topic, m.attribute_set, m.attributes, m.data
         from dead_letters dl join messages m on m.seq = dl.seq
         where dl.redriven_at is null and (? is null or dl.subscription = ?)
         order by dl.id desc limit ?`,
      )
      .all(filter.subscription ?? null, filter.subscription ?? null, filter.limit ?? 100) as DeadLetterRow[];
    return rows.map((row) => {
      const original = this.database.wireOf(row);
      const message = deadLetterForm(original, this.database.maxMessageBytes);
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
      const envelope = recoverEnvelope(original, this.database.maxMessageBytes);
      if (envelope.type) letter.eventType = envelope.type;
      if (envelope.id) letter.eventId = envelope.id;
      if (envelope.runid) letter.runId = envelope.runid;
      const excerpt = excerptInfo(message);
      if (excerpt) letter.excerpt = excerpt;
      return letter;
    });
  }

  async redrive(filter: { ids?: readonly string[]; subscription?: string } = {}): Promise<number> {
    const now = Date.now();
    const { db } = this.database;
    const rows = db
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
    const markRedriven = db.prepare('update dead_letters set redriven_at = ? where id = ?');
    const putBack = db.prepare(
      `update exceptions set state = ${PENDING}, attempts = 0, due_at = ?, lease_owner = null where subscription = ? and seq = ?`,
    );
    db.transaction(() => {
      for (const row of chosen) {
        markRedriven.run(now, row.id);
        putBack.run(now, row.subscription, row.seq);
      }
    })();
    this.wake();
    return chosen.length;
  }
}
