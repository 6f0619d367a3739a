import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteEventBus } from '@mlops/adapters-local';
import { encodeMessage } from '@mlops/kernel';
import { startEvent, tempDir, waitFor } from '@mlops/testing/suites';

/** The first layout of the bus file: a delivery row per (subscription, message). */
const FIRST_LAYOUT = `
  create table messages (seq integer primary key autoincrement, topic text not null, attributes text not null,
    data blob not null, published_at integer not null);
  create index messages_by_topic_time on messages(topic, published_at);
  create table subscriptions (name text primary key, topic text not null, max_attempts integer not null,
    backoff_min_ms integer not null, backoff_max_ms integer not null, created_at integer not null);
  create table deliveries (subscription text not null, seq integer not null, state integer not null,
    attempts integer not null default 0, due_at integer not null, lease_owner text, primary key (subscription, seq)) without rowid;
  create table dead_letters (id integer primary key autoincrement, subscription text not null, seq integer not null,
    code text not null, reason text not null, attempts integer not null, dead_at integer not null, redriven_at integer);
`;

describe('a bus file of the first layout', () => {
  const dirs: { remove: () => void }[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) dir.remove();
  });

  it('is moved to the cursor layout without losing a pending, leased or dead delivery', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const path = join(dir.path, 'bus.sqlite');
    const now = Date.now();
    const events = ['2026-03-01', '2026-03-02', '2026-03-03', '2026-03-04'].map((day) => startEvent(day));
    const old = new Database(path);
    old.exec(FIRST_LAYOUT);
    const insert = old.prepare('insert into messages (topic, attributes, data, published_at) values (?, ?, ?, ?)');
    for (const event of events) {
      const message = encodeMessage(event);
      insert.run('pipeline-start', JSON.stringify(message.attributes), Buffer.from(message.data), now);
    }
    old
      .prepare('insert into subscriptions values (?, ?, 5, 20, 100, ?)')
      .run('old.pipeline-start', 'pipeline-start', now - 1000);
    // 1 acked, 2 pending, 3 leased by a process that is gone, 4 dead.
    const delivery = old.prepare('insert into deliveries values (?, ?, ?, ?, ?, ?)');
    delivery.run('old.pipeline-start', 1, 2, 1, now, null);
    delivery.run('old.pipeline-start', 2, 0, 0, now, null);
    delivery.run('old.pipeline-start', 3, 1, 1, now - 1, 'gone');
    delivery.run('old.pipeline-start', 4, 3, 5, now, null);
    old
      .prepare(
        'insert into dead_letters (subscription, seq, code, reason, attempts, dead_at) values (?, ?, ?, ?, ?, ?)',
      )
      .run('old.pipeline-start', 4, 'TEST.BROKEN', 'it broke', 5, now);
    old.close();

    const bus = new SqliteEventBus({ path, backoff: { minMs: 20, maxMs: 100 } });
    try {
      expect(await bus.stats()).toEqual([
        { subscription: 'old.pipeline-start', topic: 'pipeline-start', pending: 1, inFlight: 1, acked: 1, dead: 1 },
      ]);
      const [letter] = await bus.listDeadLetters({ subscription: 'old.pipeline-start' });
      expect(letter).toMatchObject({ topic: 'pipeline-start', code: 'TEST.BROKEN', eventId: events[3]!.id });

      const seen: string[] = [];
      await bus.subscribe({ name: 'old.pipeline-start', topic: 'pipeline-start' }, async (event) => {
        seen.push(event.id);
      });
      const later = startEvent('2026-03-05');
      await bus.publish(later);
      await waitFor(() => seen.length >= 3, 'the pending, the expired lease and the new event', 5000);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(seen.sort()).toEqual([events[1]!.id, events[2]!.id, later.id].sort());

      expect(await bus.redrive({ subscription: 'old.pipeline-start' })).toBe(1);
      await waitFor(() => seen.includes(events[3]!.id), 'the redriven dead letter', 5000);
      await waitFor(
        async () => (await bus.stats()).every((s) => s.pending === 0 && s.inFlight === 0),
        'no open deliveries',
        5000,
      );
      expect((await bus.stats())[0]).toMatchObject({ acked: 5, dead: 0 });
    } finally {
      await bus.close();
    }
    const reopened = new Database(path, { readonly: true });
    expect(reopened.pragma('user_version', { simple: true })).toBe(3);
    expect(reopened.prepare("select count(*) from sqlite_master where name = 'deliveries'").pluck().get()).toBe(0);
    reopened.close();
  }, 30_000);
});
