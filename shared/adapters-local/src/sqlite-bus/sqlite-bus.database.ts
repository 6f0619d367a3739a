import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DEFAULT_MAX_MESSAGE_BYTES, type WireMessage, type Topic, silentLogger, type Logger } from '@mlops/kernel';

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

/** Delivery states of a message for one subscription. */
export const PENDING = 0;
export const LEASED = 1;
export const ACKED = 2;
export const DEAD = 3;

/** A row of the append-only message log. */
export interface MessageRow {
  seq: number;
  topic: string;
  attributes: string;
  data: Buffer;
  published_at: number;
}

/** A message as a transport message. */
export function wireOf(row: Pick<MessageRow, 'attributes' | 'data'>): WireMessage {
  // The row's Buffer is the driver's fresh copy: handed on as it is.
  return { data: row.data, attributes: JSON.parse(row.attributes) as Record<string, string> };
}

/** The bytes of a message as the driver binds them, without copying a Buffer. */
function bytesOf(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

const SCHEMA = `
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
`;

function prepare(db: Database.Database): Statements {
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
    insertDead: db.prepare(
      `insert into deliveries (subscription, seq, state, attempts, due_at) values (?, ?, ${DEAD}, ?, ?) on conflict do nothing`,
    ),
    insertDeadLetter: db.prepare(
      'insert into dead_letters (subscription, seq, code, reason, attempts, dead_at) values (?, ?, ?, ?, ?, ?)',
    ),
    nextDue: db.prepare(
      `select min(due_at) as due from deliveries where subscription = ? and state in (${PENDING}, ${LEASED})`,
    ),
  };
}

/** The prepared statements of the bus, by name. */
export type Statements = Record<
  | 'insertMessage'
  | 'fanOut'
  | 'upsertSubscription'
  | 'getSubscription'
  | 'lease'
  | 'leasedMessages'
  | 'ackMany'
  | 'extend'
  | 'retry'
  | 'kill'
  | 'insertDead'
  | 'insertDeadLetter'
  | 'nextDue',
  Database.Statement
>;

/**
 * The bus's one SQLite file (WAL) and what every part of the bus shares: the connection, its
 * prepared statements, this process's lease owner id and the settings. The schema is an
 * append-only message log, subscriptions, per-subscription delivery state and dead letters.
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
    this.log = options.log ?? silentLogger;
    this.db.exec(SCHEMA);
    this.statements = prepare(this.db);
    this.dropExpired(options.retentionMs ?? 7 * 24 * 3600 * 1000);
  }

  /** Append a message to a topic's log and give every subscription of the topic a pending delivery. */
  append(topic: Topic, message: WireMessage, now: number): number {
    const info = this.statements.insertMessage.run(
      topic,
      JSON.stringify(message.attributes),
      bytesOf(message.data),
      now,
    );
    const seq = Number(info.lastInsertRowid);
    this.statements.fanOut.run(seq, now, topic);
    return seq;
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

  close(): void {
    this.db.close();
  }
}
