import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DEFAULT_MAX_MESSAGE_BYTES, type WireMessage, silentLogger, type Logger } from '@mlops/kernel';
import { type AttributeRow, AttributeSets } from './sqlite-bus.attributes.js';
import { WalCheckpointer } from './sqlite-bus.checkpointer.js';
import { DEAD, LEASED, PENDING, openSchema } from './sqlite-bus.schema.js';

/** How often the checkpoint worker copies the write-ahead log back into the bus file. */
const CHECKPOINT_INTERVAL_MS = 200;

/** How many of its latest appends a process keeps in memory for its own consumers (a power of two). */
const RECENT_MESSAGES = 32_768;

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
  /** Accepted for compatibility; a consumer claims at most its concurrency. */
  prefetch?: number;
  /** Drop acknowledged messages older than this (default 7 days, Pub/Sub's default retention). */
  retentionMs?: number;
  /** Where dead letters are logged (default: nowhere). */
  log?: Logger;
}

export { PENDING, LEASED, DEAD } from './sqlite-bus.schema.js';

/** Where a dead letter pushed from outside keeps its message: off every topic's log. */
export const PUSHED_TOPIC_PREFIX = 'pushed:';

/** How many messages one insert statement appends (a burst is cut in statements of this many rows). */
const INSERT_ROWS = 64;

/** A message this process appended, kept for its consumers: `readers` of them have yet to take it. */
export interface RecentMessage {
  /** Its seq, once remembered (the slot it sits in may be taken by a later seq). */
  seq: number;
  message: WireMessage;
  publishedAt: number;
  readers: number;
}

/**
 * A message ready to append: its topic, the message, and (filled by {@link SqliteBusDatabase.encode})
 * its attribute set, varying attribute values (JSON) and data.
 */
export interface EncodedMessage extends AttributeRow {
  topic: string;
  message: WireMessage;
  data: Buffer;
}

/** A row of the append-only message log. */
export interface MessageRow {
  seq: number;
  topic: string;
  /** The varying attribute values (JSON array), or the whole attributes object when `attribute_set` is null. */
  attributes: string;
  attribute_set: number | null;
  data: Buffer;
  published_at: number;
}

/** The bytes of a message as the driver binds them, without copying a Buffer. */
function bytesOf(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

const INSERT_MESSAGES = 'insert into messages (topic, attribute_set, attributes, data, published_at) values ';

function prepare(db: Database.Database): Statements {
  return {
    insertMessage: db.prepare(`${INSERT_MESSAGES}(?, ?, ?, ?, ?)`),
    insertMessages: db.prepare(`${INSERT_MESSAGES}${Array(INSERT_ROWS).fill('(?, ?, ?, ?, ?)').join(', ')}`),
    upsertSubscription: db.prepare(
      `insert into subscriptions (name, topic, max_attempts, backoff_min_ms, backoff_max_ms, created_at, head)
       values (?, ?, ?, ?, ?, ?, (select coalesce(max(seq), 0) from messages))
       on conflict(name) do update set max_attempts = excluded.max_attempts, backoff_min_ms = excluded.backoff_min_ms, backoff_max_ms = excluded.backoff_max_ms`,
    ),
    getSubscription: db.prepare(
      'select name, topic, max_attempts, backoff_min_ms, backoff_max_ms, created_at from subscriptions where name = ?',
    ),
    head: db.prepare('select head from subscriptions where name = ?').pluck(),
    fresh: db.prepare('select seq from messages where topic = ? and seq > ? order by seq limit ?').pluck(),
    setHead: db.prepare('update subscriptions set head = ? where name = ?'),
    countAcked: db.prepare('update subscriptions set acked = acked + ? where name = ?'),
    insertLease: db.prepare(
      'insert into leases (subscription, first_seq, last_seq, owner, expires_at) values (?, ?, ?, ?, ?)',
    ),
    expiredLeases: db.prepare('select first_seq, last_seq from leases where subscription = ? and expires_at <= ?'),
    expandLease: db.prepare(
      `insert into exceptions (subscription, seq, state, attempts, due_at)
       select ?, seq, ${PENDING}, 1, ? from messages where topic = ? and seq between ? and ? on conflict do nothing`,
    ),
    dropLease: db.prepare('delete from leases where subscription = ? and first_seq = ?'),
    releaseLease: db.prepare('delete from leases where subscription = ? and first_seq = ? and owner = ?'),
    ownsLease: db.prepare('select 1 from leases where subscription = ? and first_seq = ? and owner = ?').pluck(),
    extendLeases: db.prepare('update leases set expires_at = ? where subscription = ? and owner = ?'),
    lease: db.prepare(
      `update exceptions set state = ${LEASED}, attempts = attempts + 1, due_at = ?, lease_owner = ?
       where subscription = ? and seq in (
         select seq from exceptions where subscription = ? and state in (${PENDING}, ${LEASED}) and due_at <= ? order by due_at, seq limit ?)
       returning seq, attempts`,
    ),
    leasedMessages: db.prepare(
      'select seq, attribute_set, attributes, data, published_at from messages where seq in (select value from json_each(?))',
    ),
    ackMany: db.prepare(
      `delete from exceptions where subscription = ? and lease_owner = ? and state = ${LEASED} and seq in (select value from json_each(?))`,
    ),
    extend: db.prepare(
      `update exceptions set due_at = ? where subscription = ? and state = ${LEASED} and lease_owner = ?`,
    ),
    retry: db.prepare(
      `update exceptions set state = ${PENDING}, due_at = ?, lease_owner = null where subscription = ? and seq = ? and lease_owner = ?`,
    ),
    kill: db.prepare(
      `update exceptions set state = ${DEAD}, lease_owner = null where subscription = ? and seq = ? and lease_owner = ?`,
    ),
    insertRetry: db.prepare(
      `insert into exceptions (subscription, seq, state, attempts, due_at) values (?, ?, ${PENDING}, ?, ?) on conflict do nothing`,
    ),
    insertDead: db.prepare(
      `insert into exceptions (subscription, seq, state, attempts, due_at) values (?, ?, ${DEAD}, ?, ?)
       on conflict do update set state = ${DEAD}, attempts = excluded.attempts, lease_owner = null`,
    ),
    insertDeadLetter: db.prepare(
      'insert into dead_letters (subscription, topic, seq, code, reason, attempts, dead_at) values (?, ?, ?, ?, ?, ?, ?)',
    ),
    nextDue: db
      .prepare(
        `select min(due) from (
           select min(due_at) as due from exceptions where subscription = ? and state in (${PENDING}, ${LEASED})
           union all select min(expires_at) from leases where subscription = ?)`,
      )
      .pluck(),
  };
}

/** The prepared statements of the bus, by name. */
export type Statements = Record<
  | 'insertMessage'
  | 'insertMessages'
  | 'upsertSubscription'
  | 'getSubscription'
  | 'head'
  | 'fresh'
  | 'setHead'
  | 'countAcked'
  | 'insertLease'
  | 'expiredLeases'
  | 'expandLease'
  | 'dropLease'
  | 'releaseLease'
  | 'ownsLease'
  | 'extendLeases'
  | 'lease'
  | 'leasedMessages'
  | 'ackMany'
  | 'extend'
  | 'retry'
  | 'kill'
  | 'insertRetry'
  | 'insertDead'
  | 'insertDeadLetter'
  | 'nextDue',
  Database.Statement
>;

/**
 * The bus's one SQLite file (WAL) and what every part of the bus shares: the connection, its
 * prepared statements, this process's lease owner id, its recent appends and the settings (the
 * layout is in `sqlite-bus.schema.ts`).
 */
export class SqliteBusDatabase {
  readonly db: Database.Database;
  readonly statements: Statements;
  /** This process's lease owner id. */
  readonly owner = randomBytes(6).toString('hex');
  readonly maxAttempts: number;
  readonly backoff: { minMs: number; maxMs: number };
  readonly maxMessageBytes: number;
  readonly leaseMs: number;
  readonly pollMs: number;
  readonly log: Logger;
  private readonly attributeSets: AttributeSets;
  private readonly checkpointer: WalCheckpointer | undefined;
  /**
   * The messages this process appended lately, in a ring of slots by seq (no allocation per
   * message): its consumers take them without reading the log. A later seq in the same slot pushes
   * the older one out, which is then read from the log.
   */
  private readonly recentMessages: (RecentMessage | undefined)[] = new Array(RECENT_MESSAGES).fill(undefined);

  constructor(options: SqliteEventBusOptions) {
    if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
    this.db = new Database(options.path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 10000');
    if (options.path !== ':memory:') {
      // Checkpoints run on a worker thread; the commit that crosses this far higher threshold runs one only as a backstop.
      this.db.pragma('wal_autocheckpoint = 10000');
      this.checkpointer = new WalCheckpointer(options.path, CHECKPOINT_INTERVAL_MS);
    }
    this.maxAttempts = options.maxAttempts ?? 5;
    this.backoff = options.backoff ?? { minMs: 100, maxMs: 60_000 };
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.leaseMs = options.leaseMs ?? 30_000;
    this.pollMs = options.pollMs ?? 25;
    this.log = options.log ?? silentLogger;
    openSchema(this.db);
    this.statements = prepare(this.db);
    this.attributeSets = new AttributeSets(this.db);
    this.dropExpired(options.retentionMs ?? 7 * 24 * 3600 * 1000);
  }

  /** Append a message to a topic's log: the subscriptions' cursors pass over it in order. */
  append(topic: string, message: WireMessage, now: number): number {
    const row: AttributeRow = { set: 0, values: '' };
    this.attributeSets.encode(message.attributes, row);
    const info = this.statements.insertMessage.run(topic, row.set, row.values, bytesOf(message.data), now);
    return Number(info.lastInsertRowid);
  }

  /**
   * Fill in a message's row as it is stored (in place: no object per message). Outside a
   * transaction a new attribute set is committed at once and remembered: encode a burst before the
   * transaction that appends it.
   */
  encode(row: EncodedMessage): void {
    this.attributeSets.encode(row.message.attributes, row);
    row.data = bytesOf(row.message.data);
  }

  /**
   * Append encoded messages in order (inside the caller's transaction), up to {@link INSERT_ROWS}
   * rows per statement; returns the first seq. One statement's rows take consecutive seqs, and the
   * transaction holds the write lock, so a burst's seqs run on from the first.
   */
  appendMany(rows: readonly EncodedMessage[], now: number): number {
    let first = 0;
    let index = 0;
    const params: unknown[] = new Array(INSERT_ROWS * 5);
    for (; index + INSERT_ROWS <= rows.length; index += INSERT_ROWS) {
      for (let row = 0; row < INSERT_ROWS; row += 1) {
        const encoded = rows[index + row]!;
        const at = row * 5;
        params[at] = encoded.topic;
        params[at + 1] = encoded.set;
        params[at + 2] = encoded.values;
        params[at + 3] = encoded.data;
        params[at + 4] = now;
      }
      const last = Number(this.statements.insertMessages.run(params).lastInsertRowid);
      if (index === 0) first = last - INSERT_ROWS + 1;
    }
    for (; index < rows.length; index += 1) {
      const { topic, set, values, data } = rows[index]!;
      const seq = Number(this.statements.insertMessage.run(topic, set, values, data, now).lastInsertRowid);
      if (index === 0) first = seq;
    }
    return first;
  }

  /** A row of the log as a transport message. */
  wireOf(row: Pick<MessageRow, 'attribute_set' | 'attributes' | 'data'>): WireMessage {
    // The row's Buffer is the driver's fresh copy: handed on as it is.
    return { data: row.data, attributes: this.attributeSets.decode(row.attribute_set, row.attributes) };
  }

  /** Remember a committed message for this process's consumers (a bounded window of the latest). */
  remember(seq: number, recent: RecentMessage): void {
    recent.seq = seq;
    this.recentMessages[seq & (RECENT_MESSAGES - 1)] = recent;
  }

  /**
   * A message this process appended lately, if it is still remembered. Once each consumer of its
   * topic here has taken it, it is forgotten (so it does not outlive its use in memory).
   */
  take(seq: number): RecentMessage | undefined {
    const slot = seq & (RECENT_MESSAGES - 1);
    const recent = this.recentMessages[slot];
    if (recent === undefined || recent.seq !== seq) return undefined;
    if (--recent.readers <= 0) this.recentMessages[slot] = undefined;
    return recent;
  }

  /** Drop old messages no subscription still needs: past every head, in no lease, with no exception row. */
  private dropExpired(retentionMs: number): void {
    const cutoff = Date.now() - retentionMs;
    this.db
      .prepare(
        `delete from messages where published_at < ?
           and seq <= coalesce((select min(s.head) from subscriptions s where s.topic = messages.topic), seq)
           and seq not in (select seq from exceptions)
           and not exists (select 1 from leases l where messages.seq between l.first_seq and l.last_seq)`,
      )
      .run(cutoff);
  }

  async close(): Promise<void> {
    this.db.close();
    await this.checkpointer?.stop();
  }
}
