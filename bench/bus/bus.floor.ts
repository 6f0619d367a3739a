import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteEventBus } from '@mlops/adapters-local';
import { createEvent, encodeMessage, validateEvent, type AnyEvent } from '@mlops/kernel';

/** What the SQL of the throughput run costs on its own, per event. */
export interface SqlFloor {
  events: number;
  /** CPU time of the process per event (user + system), statements and commits only. */
  cpuUsPerEvent: number;
  eventsPerSecond: number;
}

const INSERT_ROWS = 64;
const INSERT = 'insert into messages (topic, attribute_set, attributes, data, published_at) values ';

/**
 * The floor under the local bus: `better-sqlite3` alone running the statements the bus runs for the
 * throughput run's shape, on a bus file of the same layout, with the rows already encoded (no
 * validation, codec, promise or handler). Publishing: windows of 1,000 messages, one transaction
 * each, 64 rows per insert statement; consuming: per batch of 64 one immediate transaction that
 * releases the settled range, counts the acks, reads the head and the next 64 seqs by the topic
 * index, moves the head and inserts the new range's lease. The write-ahead log is checkpointed
 * (passive) every 200 ms, as the bus's worker does.
 */
export async function measureSqlFloor(dir: string, count: number, event: (i: number) => AnyEvent): Promise<SqlFloor> {
  const path = join(dir, `floor-${Date.now().toString(36)}.sqlite`);
  // The bus lays the file out (and interns the events' attribute set), then closes it.
  const bus = new SqliteEventBus({ path });
  await bus.publish(event(0));
  await bus.close();
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('wal_autocheckpoint = 10000');
  const set = db.prepare('select max(id) from attribute_sets').pluck().get() as number | null;
  if (set === null) throw new Error('the bus interned no attribute set');
  const topic = 'pipeline-start';
  const subscription = 'floor';
  db.prepare(
    `insert into subscriptions (name, topic, max_attempts, backoff_min_ms, backoff_max_ms, created_at, head)
     values (?, ?, 5, 100, 60000, 0, (select coalesce(max(seq), 0) from messages))`,
  ).run(subscription, topic);
  // The rows as the bus stores them: the varying attribute values and the payload, encoded before timing.
  const values: string[] = [];
  const data: Buffer[] = [];
  for (let i = 0; i < count; i += 1) {
    const message = encodeMessage(validateEvent(event(i)));
    const a = message.attributes;
    values.push(JSON.stringify([a['ce-id'], a['ce-time'], a['ce-runid'], a['ce-rundate'], a['ce-traceparent']]));
    data.push(message.data as Buffer);
  }
  const insertMany = db.prepare(`${INSERT}${Array(INSERT_ROWS).fill('(?, ?, ?, ?, ?)').join(', ')}`);
  const insertOne = db.prepare(`${INSERT}(?, ?, ?, ?, ?)`);
  const head = db.prepare('select head from subscriptions where name = ?').pluck();
  const fresh = db.prepare('select seq from messages where topic = ? and seq > ? order by seq limit ?').pluck();
  const setHead = db.prepare('update subscriptions set head = ? where name = ?');
  const countAcked = db.prepare('update subscriptions set acked = acked + ? where name = ?');
  const insertLease = db.prepare(
    'insert into leases (subscription, first_seq, last_seq, owner, expires_at) values (?, ?, ?, ?, ?)',
  );
  const releaseLease = db.prepare('delete from leases where subscription = ? and first_seq = ? and owner = ?');
  const publishWindow = db.transaction((start: number, end: number, now: number) => {
    const params: unknown[] = new Array(INSERT_ROWS * 5);
    let i = start;
    for (; i + INSERT_ROWS <= end; i += INSERT_ROWS) {
      for (let row = 0; row < INSERT_ROWS; row += 1) {
        const at = row * 5;
        params[at] = topic;
        params[at + 1] = set;
        params[at + 2] = values[i + row];
        params[at + 3] = data[i + row];
        params[at + 4] = now;
      }
      insertMany.run(params);
    }
    for (; i < end; i += 1) insertOne.run(topic, set, values[i], data[i], now);
  });
  let held: { first: number; size: number } | undefined;
  const cycle = db.transaction((now: number): number => {
    if (held) {
      releaseLease.run(subscription, held.first, 'floor');
      countAcked.run(held.size, subscription);
      held = undefined;
    }
    const seqs = fresh.all(topic, head.get(subscription), 64) as number[];
    if (seqs.length === 0) return 0;
    setHead.run(seqs[seqs.length - 1], subscription);
    insertLease.run(subscription, seqs[0], seqs[seqs.length - 1], 'floor', now + 30_000);
    held = { first: seqs[0]!, size: seqs.length };
    return seqs.length;
  });
  const checkpoint = db.prepare('pragma wal_checkpoint(PASSIVE)');
  const cpu = process.cpuUsage();
  const started = performance.now();
  let lastCheckpoint = started;
  let consumed = 0;
  for (let start = 0; start < count; start += 1_000) {
    publishWindow.immediate(start, Math.min(count, start + 1_000), Date.now());
    while (cycle.immediate(Date.now()) > 0) consumed += 1;
    if (performance.now() - lastCheckpoint >= 200) {
      checkpoint.run();
      lastCheckpoint = performance.now();
    }
  }
  cycle.immediate(Date.now());
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  db.close();
  if (consumed === 0) throw new Error('the SQL floor consumed nothing');
  return { events: count, cpuUsPerEvent: (used.user + used.system) / count, eventsPerSecond: count / seconds };
}

export function floorEvent(i: number): AnyEvent {
  const day = String((i % 28) + 1).padStart(2, '0');
  return createEvent(
    'mlops.pipeline.started.v1',
    { runDate: `2026-01-${day}`, trigger: 'backfill' },
    { source: '//mlops/bench', runid: `run_bench_${i}`, rundate: `2026-01-${day}` },
  ) as AnyEvent;
}
