import type Database from 'better-sqlite3';

/** Delivery states of an exception row (a message of one subscription off the cursor's fast path). */
export const PENDING = 0;
export const LEASED = 1;
export const DEAD = 3;

/**
 * The layout version in `user_version`: 2 is the cursor-per-subscription log; 3 keeps the repeated
 * attributes of messages once in `attribute_sets` (rows of layout 2 are read as they are).
 */
export const SCHEMA_VERSION = 3;

/**
 * One append-only log of messages (indexed by topic, in publish order); per subscription a head
 * (every message of its topic up to it has been handed out once), the ranges handed out and not yet
 * settled (`leases`, one row per leased batch), and exception rows only for what left the fast path:
 * retries, dead letters, replays and the messages of expired leases.
 */
const SCHEMA = `
  create table if not exists messages (
    seq integer primary key autoincrement,
    topic text not null,
    attributes text not null,
    data blob not null,
    published_at integer not null,
    attribute_set integer
  );
  create table if not exists attribute_sets (
    id integer primary key,
    shape text not null unique
  );
  create index if not exists messages_by_topic on messages(topic);
  create table if not exists subscriptions (
    name text primary key,
    topic text not null,
    max_attempts integer not null,
    backoff_min_ms integer not null,
    backoff_max_ms integer not null,
    created_at integer not null,
    head integer not null default 0,
    acked integer not null default 0
  );
  create index if not exists subscriptions_by_topic on subscriptions(topic);
  create table if not exists leases (
    subscription text not null,
    first_seq integer not null,
    last_seq integer not null,
    owner text not null,
    expires_at integer not null,
    primary key (subscription, first_seq)
  ) without rowid;
  create table if not exists exceptions (
    subscription text not null,
    seq integer not null,
    state integer not null,
    attempts integer not null default 0,
    due_at integer not null,
    lease_owner text,
    primary key (subscription, seq)
  ) without rowid;
  create index if not exists exceptions_ready on exceptions(subscription, due_at) where state in (0, 1);
  create table if not exists dead_letters (
    id integer primary key autoincrement,
    subscription text not null,
    topic text not null,
    seq integer not null,
    code text not null,
    reason text not null,
    attempts integer not null,
    dead_at integer not null,
    redriven_at integer
  );
  create index if not exists dead_letters_open on dead_letters(subscription) where redriven_at is null;
`;

function hasTable(db: Database.Database, name: string): boolean {
  return db.prepare("select 1 from sqlite_master where type = 'table' and name = ?").get(name) !== undefined;
}

function hasColumn(db: Database.Database, table: string, column: string): boolean {
  return (db.pragma(`table_info(${table})`) as { name: string }[]).some((info) => info.name === column);
}

/**
 * Create the schema, or move a bus file of an older layout to this one in place, without losing a
 * message. From the first layout (a delivery row per message and subscription): each
 * subscription's head becomes the last message, and every delivery still pending, leased or dead
 * becomes an exception row. From the second: messages gain an attribute set column, null for the
 * rows already written, which keep their attributes object.
 */
export function openSchema(db: Database.Database): void {
  db.transaction(() => {
    if (hasTable(db, 'deliveries')) {
      db.exec(`
        alter table subscriptions add column head integer not null default 0;
        alter table subscriptions add column acked integer not null default 0;
        alter table dead_letters add column topic text not null default '';
        update dead_letters set topic = coalesce((select m.topic from messages m where m.seq = dead_letters.seq), '');
      `);
      db.exec(SCHEMA);
      db.exec(`
        update subscriptions set head = (select coalesce(max(seq), 0) from messages),
          acked = (select count(*) from deliveries d where d.subscription = subscriptions.name and d.state = 2);
        insert into exceptions (subscription, seq, state, attempts, due_at, lease_owner)
          select subscription, seq, state, attempts, due_at, lease_owner from deliveries where state in (0, 1, 3);
        drop table deliveries;
        drop index if exists messages_by_topic_time;
      `);
    }
    // Layout 2 to 3: the rows already written keep their attributes object (no attribute set).
    if (hasTable(db, 'messages') && !hasColumn(db, 'messages', 'attribute_set'))
      db.exec('alter table messages add column attribute_set integer');
    db.exec(SCHEMA);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}
