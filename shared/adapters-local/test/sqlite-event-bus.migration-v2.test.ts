import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteEventBus } from '@mlops/adapters-local';
import { encodeMessage } from '@mlops/kernel';
import { startEvent, tempDir, waitFor } from '@mlops/testing/suites';

/** The second layout of the bus file: every message row holds its whole attributes object as JSON. */
const SECOND_LAYOUT = `
  create table messages (seq integer primary key autoincrement, topic text not null, attributes text not null,
    data blob not null, published_at integer not null);
  create index messages_by_topic on messages(topic);
  create table subscriptions (name text primary key, topic text not null, max_attempts integer not null,
    backoff_min_ms integer not null, backoff_max_ms integer not null, created_at integer not null,
    head integer not null default 0, acked integer not null default 0);
  create index subscriptions_by_topic on subscriptions(topic);
  create table leases (subscription text not null, first_seq integer not null, last_seq integer not null,
    owner text not null, expires_at integer not null, primary key (subscription, first_seq)) without rowid;
  create table exceptions (subscription text not null, seq integer not null, state integer not null,
    attempts integer not null default 0, due_at integer not null, lease_owner text,
    primary key (subscription, seq)) without rowid;
  create index exceptions_ready on exceptions(subscription, due_at) where state in (0, 1);
  create table dead_letters (id integer primary key autoincrement, subscription text not null, topic text not null,
    seq integer not null, code text not null, reason text not null, attempts integer not null, dead_at integer not null,
    redriven_at integer);
  create index dead_letters_open on dead_letters(subscription) where redriven_at is null;
  pragma user_version = 2;
`;

describe('a bus file of the second layout (attributes as a JSON object per row)', () => {
  const dirs: { remove: () => void }[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) dir.remove();
  });

  it('is read as it is and moved to interned attributes without losing a pending, expired-lease or dead delivery', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const path = join(dir.path, 'bus.sqlite');
    const now = Date.now();
    const days = ['2026-04-01', '2026-04-02', '2026-04-03', '2026-04-04', '2026-04-05', '2026-04-06'];
    const events = days.map((day) => startEvent(day));
    const old = new Database(path);
    old.exec(SECOND_LAYOUT);
    const insert = old.prepare('insert into messages (topic, attributes, data, published_at) values (?, ?, ?, ?)');
    for (const event of events) {
      const message = encodeMessage(event);
      insert.run('pipeline-start', JSON.stringify(message.attributes), Buffer.from(message.data), now);
    }
    // Messages 1-4 handed out (head 4), 2 acked before; 1 waits for a retry, 2 is dead, 3-4 are the
    // range of a lease whose process is gone (expired), 5-6 are past the head.
    old
      .prepare('insert into subscriptions values (?, ?, 5, 20, 100, ?, 4, 2)')
      .run('old.pipeline-start', 'pipeline-start', now - 1000);
    old.prepare('insert into leases values (?, 3, 4, ?, ?)').run('old.pipeline-start', 'gone', now - 1);
    const exception = old.prepare('insert into exceptions values (?, ?, ?, ?, ?, ?)');
    exception.run('old.pipeline-start', 1, 0, 1, now, null);
    exception.run('old.pipeline-start', 2, 3, 5, now, null);
    old
      .prepare(
        'insert into dead_letters (subscription, topic, seq, code, reason, attempts, dead_at) values (?, ?, ?, ?, ?, ?, ?)',
      )
      .run('old.pipeline-start', 'pipeline-start', 2, 'TEST.BROKEN', 'it broke', 5, now);
    old.close();

    const bus = new SqliteEventBus({ path, backoff: { minMs: 20, maxMs: 100 } });
    // Another process on the same file: it reads what the first publishes from the file.
    const other = new SqliteEventBus({ path, backoff: { minMs: 20, maxMs: 100 } });
    try {
      expect(await bus.stats()).toEqual([
        { subscription: 'old.pipeline-start', topic: 'pipeline-start', pending: 3, inFlight: 2, acked: 2, dead: 1 },
      ]);
      const [letter] = await bus.listDeadLetters({ subscription: 'old.pipeline-start' });
      expect(letter).toMatchObject({ topic: 'pipeline-start', code: 'TEST.BROKEN', eventId: events[1]!.id });
      expect(letter!.message.attributes).toEqual(encodeMessage(events[1]!).attributes);

      const seen: string[] = [];
      const handled = new Map<string, unknown>();
      await other.subscribe({ name: 'old.pipeline-start', topic: 'pipeline-start' }, async (event) => {
        seen.push(event.id);
        handled.set(event.id, event);
      });
      const later = [startEvent('2026-04-07'), startEvent('2026-04-08')];
      for (const event of later) await bus.publish(event);
      const expected = [events[0]!, events[2]!, events[3]!, events[4]!, events[5]!, ...later].map((e) => e.id);
      await waitFor(() => seen.length >= expected.length, 'the retry, the expired lease, the fresh and the new', 5000);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect([...seen].sort()).toEqual([...expected].sort());
      // Old rows and new rows decode to the events that were published.
      expect(handled.get(events[4]!.id)).toMatchObject({
        id: events[4]!.id,
        rundate: '2026-04-05',
        data: events[4]!.data,
      });
      expect(handled.get(later[1]!.id)).toMatchObject({
        id: later[1]!.id,
        source: later[1]!.source,
        type: later[1]!.type,
        traceparent: later[1]!.traceparent,
        data: later[1]!.data,
      });

      expect(await bus.redrive({ subscription: 'old.pipeline-start' })).toBe(1);
      await waitFor(() => seen.includes(events[1]!.id), 'the redriven dead letter', 5000);
      await waitFor(
        async () => (await bus.stats()).every((s) => s.pending === 0 && s.inFlight === 0),
        'no open deliveries',
        5000,
      );
      expect((await bus.stats())[0]).toMatchObject({ acked: 2 + expected.length + 1, dead: 0 });
    } finally {
      await other.close();
      await bus.close();
    }
    const reopened = new Database(path, { readonly: true });
    expect(reopened.pragma('user_version', { simple: true })).toBe(3);
    const rows = reopened.prepare('select seq, attribute_set, attributes from messages order by seq').all() as {
      seq: number;
      attribute_set: number | null;
      attributes: string;
    }[];
    // The rows of the second layout are kept as they were; the new ones point at one interned set.
    expect(rows.slice(0, 6).every((row) => row.attribute_set === null)).toBe(true);
    const fresh = rows.filter((row) => row.attribute_set !== null && row.seq <= 8);
    expect(fresh.map((row) => row.seq)).toEqual([7, 8]);
    expect(new Set(fresh.map((row) => row.attribute_set)).size).toBe(1);
    expect(JSON.parse(fresh[0]!.attributes)).not.toContain('mlops.pipeline.started.v1');
    reopened.close();
  }, 30_000);
});
