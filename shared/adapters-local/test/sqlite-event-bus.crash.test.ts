import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteEventBus } from '@mlops/adapters-local';
import { startEvent, tempDir, waitFor } from '@mlops/testing/suites';

const consumerScript = join(import.meta.dirname, 'fixtures/bus-consumer.ts');
const tsx = join(import.meta.dirname, '../../../node_modules/.bin/tsx');

function startConsumer(busPath: string, effectsPath: string): Promise<ChildProcess> {
  const child = spawn(tsx, ['--conditions=@mlops/source', consumerScript, busPath, effectsPath, '5'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve(child);
    });
    child.on('exit', (code) => reject(new Error(`consumer exited early with ${code}`)));
  });
}

describe('the local bus survives a crash', () => {
  const dirs: { remove: () => void }[] = [];
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const child of children) child.kill('SIGKILL');
    for (const dir of dirs) dir.remove();
  });

  it('handles every event after the consumer is SIGKILLed with events in flight and restarted', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const busPath = join(dir.path, 'bus.sqlite');
    const effectsPath = join(dir.path, 'effects.sqlite');
    const bus = new SqliteEventBus({ path: busPath });
    await bus.ensureSubscription({ name: 'crash.pipeline-start', topic: 'pipeline-start' });
    const ids: string[] = [];
    const publish = async (count: number, offset: number) => {
      for (let i = 0; i < count; i += 1) {
        const day = String(1 + ((offset + i) % 28)).padStart(2, '0');
        const event = startEvent(`2026-02-${day}`);
        ids.push(event.id);
        await bus.publish(event);
      }
    };
    await publish(200, 0);

    const first = await startConsumer(busPath, effectsPath);
    children.push(first);
    const effects = () => new Database(effectsPath, { readonly: true, fileMustExist: true });
    const handled = () => {
      try {
        const db = effects();
        const row = db.prepare('select count(*) as n from effects').get() as { n: number };
        db.close();
        return row.n;
      } catch {
        return 0;
      }
    };
    await waitFor(() => handled() >= 40, 'the first consumer to handle some events', 20_000);
    await publish(100, 200); // more arrive while it works
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    const handledAtCrash = handled();
    expect(handledAtCrash).toBeLessThan(300);

    const second = await startConsumer(busPath, effectsPath);
    children.push(second);
    await waitFor(() => handled() === 300, 'every event to be handled after the restart', 30_000);

    const db = effects();
    const rows = db.prepare('select event_id from effects').all() as { event_id: string }[];
    db.close();
    expect(new Set(rows.map((row) => row.event_id))).toEqual(new Set(ids));
    const stats = await bus.stats();
    await waitFor(
      async () => (await bus.stats()).every((s) => s.pending === 0 && s.inFlight === 0),
      'no pending deliveries',
      5000,
    );
    expect(stats.find((s) => s.subscription === 'crash.pipeline-start')!.dead).toBe(0);
    await bus.close();
  }, 90_000);
});
