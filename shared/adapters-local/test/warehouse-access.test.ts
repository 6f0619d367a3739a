/**
 * The warehouse access on a DuckDB file, across processes (real children, real DuckDB): who waits
 * for whom, what a reader sees, what a crash leaves, and that nobody holds the file while idle.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { capWarehouseMemory, createLogger, PlatformError, type WarehouseAccess } from '@mlops/kernel';
import { openDuckDbWarehouseAccess, SqliteEventBus } from '@mlops/adapters-local';
import { startEvent, tempDir, waitFor } from '@mlops/testing/suites';

const script = join(import.meta.dirname, 'fixtures/warehouse-session.ts');
const root = join(import.meta.dirname, '../../..');

interface Child {
  process: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

const children: ChildProcess[] = [];
const dirs: { remove: () => void }[] = [];
const accesses: WarehouseAccess[] = [];

function start(path: string, command: string): Child {
  // One process (no tsx wrapper), so a SIGKILL reaches the process that holds the warehouse.
  const child = spawn(process.execPath, ['--conditions=@mlops/source', '--import', 'tsx', script, path, command], {
    cwd: root,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { process: child, output: () => output, exited };
}

function folder(): string {
  const dir = tempDir('mlops-warehouse-access-');
  dirs.push(dir);
  return dir.path;
}

function access(path: string, options: Partial<Parameters<typeof openDuckDbWarehouseAccess>[0]> = {}) {
  const opened = openDuckDbWarehouseAccess({ path, ...options });
  accesses.push(opened);
  return opened;
}

/** Open the file read-write with DuckDB alone in another process: `opened`, or DuckDB's error. */
async function openElsewhere(path: string): Promise<string> {
  const probe = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import { DuckDBInstance } from '@duckdb/node-api';
       try { (await DuckDBInstance.create(${JSON.stringify(path)})).closeSync(); console.log('opened'); }
       catch (error) { console.log(String(error)); }`,
    ],
    { cwd: join(import.meta.dirname, '..'), stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.push(probe);
  let output = '';
  probe.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await new Promise((resolve) => probe.on('exit', resolve));
  return output.trim();
}

const count = (warehouse: WarehouseAccess) =>
  warehouse.read(async (session) => (await session.query<{ n: number }>('select count(*) as n from t'))[0]!.n);

afterEach(async () => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  for (const opened of accesses.splice(0)) await opened.close();
  for (const dir of dirs.splice(0)) dir.remove();
});

describe('warehouse access across processes', () => {
  it('makes a reader in another process wait for a write session, then see all of it', async () => {
    const path = join(folder(), 'warehouse.duckdb');
    const holder = start(path, 'hold-write');
    await waitFor(() => holder.output().includes('holding'), 'the holder to hold the write session', 30_000);
    let seen: number | undefined;
    const reading = count(access(path)).then((n) => (seen = n));
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(seen).toBeUndefined();
    holder.process.stdin!.write('release\n');
    await reading;
    expect(seen).toBe(3);
    expect(await holder.exited).toBe(0);
  });

  it('lets the next session in when the holder is SIGKILLed, without its uncommitted work', async () => {
    const path = join(folder(), 'warehouse.duckdb');
    const holder = start(path, 'hold-write');
    await waitFor(() => holder.output().includes('holding'), 'the holder to hold the write session', 30_000);
    const warehouse = access(path, { waitMs: 30_000 });
    const writing = warehouse.write((session) => session.execute('insert into t values (4)'));
    holder.process.kill('SIGKILL');
    await writing;
    // Row 1 was committed; row 2 was in the killed process's open transaction; row 4 is ours.
    expect(
      await warehouse.read(async (session) =>
        (await session.query<{ id: number }>('select id from t order by id')).map((row) => row.id),
      ),
    ).toEqual([1, 4]);
  });

  it('holds no lock while idle: after a write session the file opens read-write from another process', async () => {
    const path = join(folder(), 'warehouse.duckdb');
    const warehouse = access(path);
    await warehouse.write((session) => session.execute('create table t (id integer); insert into t values (1)'));
    expect(await openElsewhere(path)).toBe('opened');
  });

  it('keeps an idle read-only file open for the linger only', async () => {
    const path = join(folder(), 'warehouse.duckdb');
    // A linger long enough for a probe process to start on a loaded machine.
    const warehouse = access(path, { readLingerMs: 20_000 });
    await warehouse.write((session) => session.execute('create table t (id integer)'));
    await count(warehouse);
    const readEnded = Date.now();
    expect(await openElsewhere(path)).toMatch(/lock/i);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, readEnded + 20_500 - Date.now())));
    expect(await openElsewhere(path)).toBe('opened');
  }, 90_000);

  it('closes a lingering read-only file on release, and opens it again for the next read', async () => {
    const path = join(folder(), 'warehouse.duckdb');
    const warehouse = access(path, { readLingerMs: 60_000 });
    await warehouse.write((session) => session.execute('create table t (id integer); insert into t values (1)'));
    await count(warehouse);
    expect(await openElsewhere(path)).toMatch(/lock/i);
    await warehouse.release!();
    expect(await openElsewhere(path)).toBe('opened');
    expect(await count(warehouse)).toBe(1);
  }, 90_000);

  it('lets a waiting writer in while a reader lingers, and does not starve it under a stream of reads', async () => {
    const path = join(folder(), 'warehouse.duckdb');
    const warehouse = access(path, { readLingerMs: 60_000 });
    await warehouse.write((session) => session.execute('create table t (id integer)'));
    expect(await count(warehouse)).toBe(0);
    // The read-only file now lingers for a minute, and another process reads in a loop.
    const readers = start(path, 'read-loop');
    await waitFor(() => readers.output().includes('reading'), 'the reader loop', 30_000);
    const writer = start(path, 'write');
    expect(await writer.exited).toBe(0);
    const waited = Number(/written after (\d+) ms/.exec(writer.output())![1]);
    expect(waited).toBeLessThan(10_000);
    expect(await count(warehouse)).toBe(1);
  });

  it('waits for a busy warehouse with a log line naming who holds it, and gives up with a transient WAREHOUSE.BUSY', async () => {
    const path = join(folder(), 'warehouse.duckdb');
    const holder = start(path, 'hold-write');
    await waitFor(() => holder.output().includes('holding'), 'the holder to hold the write session', 30_000);
    const lines: string[] = [];
    const log = createLogger({ sink: (line) => lines.push(line) });
    const started = Date.now();
    const error = (await access(path)
      .read(async () => 'never', { purpose: 'test: impatient reader', log, waitMs: 1_500 })
      .catch((caught: unknown) => caught)) as PlatformError;
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_400);
    expect(error).toBeInstanceOf(PlatformError);
    expect(error.code).toBe('WAREHOUSE.BUSY');
    expect(error.errorClass).toBe('transient');
    expect(error.message).toMatch(/held by test: holder \(pid \d+, write, holding \d+ s\)/);
    const waiting = lines.map((line) => JSON.parse(line) as { message: string; waitedMs: number });
    expect(
      waiting.some((line) => /test: impatient reader read session waits behind test: holder/.test(line.message)),
    ).toBe(true);
  });

  it('keeps a handler waiting for the warehouse on its first delivery attempt (the bus lease is kept alive)', async () => {
    const dir = folder();
    const path = join(dir, 'warehouse.duckdb');
    const holder = start(path, 'hold-write');
    await waitFor(() => holder.output().includes('holding'), 'the holder to hold the write session', 30_000);
    const bus = new SqliteEventBus({ path: join(dir, 'bus.sqlite'), leaseMs: 300, pollMs: 10 });
    const warehouse = access(path);
    const attempts: number[] = [];
    const subscription = await bus.subscribe(
      { name: 'test.pipeline-start', topic: 'pipeline-start', maxAttempts: 1 },
      async (_event, delivery) => {
        attempts.push(delivery.attempt);
        await warehouse.write((session) => session.execute('insert into t values (5)'));
      },
    );
    await bus.publish(startEvent('2026-03-01'));
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    holder.process.stdin!.write('release\n');
    await waitFor(
      async () => (await bus.stats()).every((stats) => stats.pending === 0 && stats.inFlight === 0),
      'the delivery to settle',
      30_000,
    );
    expect(attempts).toEqual([1]);
    expect(await bus.listDeadLetters()).toEqual([]);
    expect(await count(warehouse)).toBe(4);
    await subscription.close();
    await bus.close();
  });
});

describe('warehouse access in one process', () => {
  it('shows a read session the warehouse before a write session commits', async () => {
    const path = join(folder(), 'warehouse.duckdb');
    const warehouse = access(path);
    await warehouse.write((session) => session.execute('create table t (id integer); insert into t values (1)'));
    let commit!: () => void;
    const committed = new Promise<void>((resolve) => (commit = resolve));
    let inserted!: () => void;
    const insertedYet = new Promise<void>((resolve) => (inserted = resolve));
    const writing = warehouse.write((session) =>
      session.transaction(async (tx) => {
        await tx.execute('insert into t values (2), (3)');
        inserted();
        await committed;
      }),
    );
    await insertedYet;
    expect(await count(warehouse)).toBe(1);
    commit();
    await writing;
    expect(await count(warehouse)).toBe(3);
  });

  it("creates the file under the thread's memory cap, and opens a file that exists at its own limit", async () => {
    const limit = (warehouse: WarehouseAccess) =>
      warehouse.write(
        async (session) => (await session.query<{ l: string }>("select current_setting('memory_limit') as l"))[0]!.l,
      );
    const fresh = () => access(join(folder(), 'warehouse.duckdb'), { memoryLimit: '448MB' });
    try {
      capWarehouseMemory('320MB');
      const created = fresh();
      const capped = await limit(created);
      const reopened = await limit(created);
      capWarehouseMemory('1GB');
      const above = await limit(fresh());
      capWarehouseMemory(undefined);
      const lifted = await limit(fresh());
      // DuckDB reports its limits in binary units: 320MB is 305.1 MiB, 448MB 427.2 MiB.
      expect([capped, reopened, above, lifted]).toEqual(['305.1 MiB', '427.2 MiB', '427.2 MiB', '427.2 MiB']);
    } finally {
      capWarehouseMemory(undefined);
    }
  });

  it('changes the version after every write session and never after a read', async () => {
    const path = join(folder(), 'warehouse.duckdb');
    const warehouse = access(path);
    expect(await warehouse.version()).toBe('missing');
    await warehouse.write((session) => session.execute('create table t (id integer)'));
    const first = await warehouse.version();
    expect(first).not.toBe('missing');
    await count(warehouse);
    expect(await warehouse.version()).toBe(first);
    await warehouse.write((session) => session.execute('insert into t values (1)'));
    const second = await warehouse.version();
    expect(second).not.toBe(first);
    // Another access to the same file (another process would read the same lock file) agrees.
    expect(await access(path).version()).toBe(second);
  });

  it.each([
    ['a read session', 'WAREHOUSE.MISSING', (w: WarehouseAccess) => count(w)],
    [
      'a session inside a session',
      'WAREHOUSE.SESSION_NESTED',
      (w: WarehouseAccess) => w.write(() => w.read(async () => 1)),
    ],
    [
      'a session warehouse used after its session',
      'WAREHOUSE.SESSION_ENDED',
      async (w: WarehouseAccess) => {
        await w.write((session) => session.execute('create table t (id integer)'));
        const leaked = await w.read(async (session) => session);
        return leaked.query('select 1');
      },
    ],
    [
      'a write in a read session',
      'WAREHOUSE.READ_ONLY',
      async (w: WarehouseAccess) => {
        await w.write((session) => session.execute('create table t (id integer)'));
        return w.read((session) => session.execute('insert into t values (1)'));
      },
    ],
  ])('refuses %s with %s', async (_name, code, use) => {
    const warehouse = access(join(folder(), 'warehouse.duckdb'));
    await expect(use(warehouse)).rejects.toMatchObject({ code, errorClass: 'permanent' });
  });
});
