/**
 * A fair, crash-safe readers-writer lock shared by the processes of one machine (or containers
 * sharing a volume), kept in a small SQLite file beside the warehouse. Each process asks with a
 * ticket; tickets are served in order: a write ticket waits for every earlier ticket and every
 * holder, a read ticket only for holding or earlier write tickets. So a stream of readers cannot
 * starve a writer, nor writers a reader.
 *
 * A ticket disappears with its process: a ticket of a dead process on this host (no such pid), or
 * one not refreshed for `staleMs` (another host or container, or a frozen process), is dropped by
 * whoever it blocks. The engine's own file lock stays the last word: a grant only says whose turn
 * it is.
 *
 * SQLite calls are short and never wait on SQLite's own lock (`busy_timeout` 0): a busy database
 * is tried again on the next poll, so the event loop is never blocked.
 *
 * The file also holds the warehouse's version: a counter bumped after every write session, under
 * an epoch drawn when the file is created.
 */
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';

/** Which side of the lock. */
export type LockKind = 'read' | 'write';

/** A ticket that holds or waits, as another process sees it. */
export interface LockTicketView {
  readonly id: number;
  readonly pid: number;
  readonly host: string;
  readonly kind: LockKind;
  readonly holding: boolean;
  readonly purpose: string;
  /** Since when it holds (or waits), ms since the epoch. */
  readonly since: number;
}

/** Options of {@link WarehouseLock}. */
export interface WarehouseLockOptions {
  /** The SQLite file. */
  path: string;
  /** A ticket not refreshed for this long is dropped (default 30 s). */
  staleMs?: number;
  /** How often this process refreshes its tickets (default 1 s). */
  heartbeatMs?: number;
}

interface TicketRow {
  id: number;
  pid: number;
  host: string;
  kind: LockKind;
  holding: number;
  purpose: string;
  since: number;
  seen_at: number;
}

const HOST = hostname();

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED';
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: unknown }).code === 'EPERM';
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The lock file of a warehouse (see the module comment). */
export class WarehouseLock {
  private readonly db: Database.Database;
  private readonly staleMs: number;
  private readonly mine = new Set<number>();
  private readonly heartbeat: NodeJS.Timeout;
  private readonly statements;
  private closed = false;

  constructor(options: WarehouseLockOptions) {
    mkdirSync(dirname(options.path), { recursive: true });
    this.db = new Database(options.path, { timeout: 0 });
    this.staleMs = options.staleMs ?? 30_000;
    this.setUp();
    const db = this.db;
    this.statements = {
      insert: db.prepare(
        'insert into tickets (pid, host, kind, holding, purpose, since, seen_at) values (?, ?, ?, 0, ?, ?, ?) returning id',
      ),
      all: db.prepare('select id, pid, host, kind, holding, purpose, since, seen_at from tickets order by id'),
      grant: db.prepare('update tickets set holding = 1, since = ? where id = ?'),
      remove: db.prepare('delete from tickets where id = ?'),
      touch: db.prepare('update tickets set seen_at = ? where id in (select value from json_each(?))'),
      bump: db.prepare("update meta set value = value + 1 where key = 'version'"),
      meta: db.prepare('select key, value from meta'),
    };
    this.heartbeat = setInterval(() => this.refresh(), options.heartbeatMs ?? 1_000);
    this.heartbeat.unref();
  }

  private setUp(): void {
    // Creating the tables races with other processes opening a fresh file: retry while busy.
    for (let attempt = 0; ; attempt += 1) {
      try {
        this.db.pragma('journal_mode = WAL');
        this.db.pragma('synchronous = NORMAL');
        this.db.exec(`
          create table if not exists tickets (
            id integer primary key autoincrement,
            pid integer not null,
            host text not null,
            kind text not null check (kind in ('read', 'write')),
            holding integer not null,
            purpose text not null,
            since integer not null,
            seen_at integer not null
          );
          create table if not exists meta (key text primary key, value text not null);
        `);
        this.db
          .prepare("insert or ignore into meta (key, value) values ('epoch', ?), ('version', 0)")
          .run(randomBytes(4).toString('hex'));
        return;
      } catch (error) {
        if (!isBusy(error) || attempt >= 2_000) throw error;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
      }
    }
  }

  /** Run a statement, trying again while another process is in the file (each try is microseconds). */
  private async retry<T>(work: () => T): Promise<T> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        return work();
      } catch (error) {
        if (!isBusy(error) || attempt >= 1_000) throw error;
        await sleep(attempt < 10 ? 1 : 5);
      }
    }
  }

  private refresh(): void {
    if (this.closed || this.mine.size === 0) return;
    try {
      this.statements.touch.run(Date.now(), JSON.stringify([...this.mine]));
    } catch (error) {
      if (!isBusy(error)) throw error;
    }
  }

  /** Take a place in the queue; resolves to the ticket id. */
  async enqueue(kind: LockKind, purpose: string): Promise<number> {
    const now = Date.now();
    const row = await this.retry(
      () => this.statements.insert.get(process.pid, HOST, kind, purpose.slice(0, 200), now, now) as { id: number },
    );
    this.mine.add(row.id);
    return row.id;
  }

  /** Whether a row belongs to nobody any more. */
  private isStale(row: TicketRow, now: number): boolean {
    if (this.mine.has(row.id)) return false;
    if (row.host === HOST && !alive(row.pid)) return true;
    return now - row.seen_at > this.staleMs;
  }

  /** The tickets in the way of `id`, after dropping the stale ones. */
  private blockersIn(rows: TicketRow[], id: number, kind: LockKind): TicketRow[] {
    return rows.filter((row) => {
      if (row.id === id) return false;
      if (kind === 'write') return row.holding === 1 || row.id < id;
      return row.kind === 'write' && (row.holding === 1 || row.id < id);
    });
  }

  /**
   * Try to turn a waiting ticket into a holding one: `granted`, the blockers when it must wait
   * (none when SQLite itself was busy), or `lost` when the ticket was dropped as stale (the
   * process was frozen past `staleMs`) and must queue again.
   */
  tryGrant(id: number, kind: LockKind): 'granted' | 'lost' | LockTicketView[] {
    try {
      return this.db
        .transaction((): 'granted' | 'lost' | LockTicketView[] => {
          const now = Date.now();
          const rows = this.statements.all.all() as TicketRow[];
          const live: TicketRow[] = [];
          for (const row of rows) {
            if (this.isStale(row, now)) this.statements.remove.run(row.id);
            else live.push(row);
          }
          if (!live.some((row) => row.id === id)) return 'lost';
          const blockers = this.blockersIn(live, id, kind);
          if (blockers.length > 0) return blockers.map(view);
          this.statements.grant.run(now, id);
          return 'granted';
        })
        .immediate();
    } catch (error) {
      if (isBusy(error)) return [];
      throw error;
    }
  }

  /** Whether a ticket other than ours waits for the lock (`write`: only write tickets count). */
  othersWaiting(kind: 'any' | 'write'): boolean {
    try {
      const now = Date.now();
      return (this.statements.all.all() as TicketRow[]).some(
        (row) =>
          !this.mine.has(row.id) &&
          row.holding === 0 &&
          (kind === 'any' || row.kind === 'write') &&
          !this.isStale(row, now),
      );
    } catch (error) {
      if (isBusy(error)) return false;
      throw error;
    }
  }

  /** Give a ticket back (waiting or holding). */
  async release(id: number): Promise<void> {
    this.mine.delete(id);
    await this.retry(() => this.statements.remove.run(id));
  }

  /** Count one more write: readers see a new version. */
  async bump(): Promise<void> {
    await this.retry(() => this.statements.bump.run());
  }

  /** `<epoch>.<counter>`: changes with every {@link bump}. */
  version(): string {
    const meta = new Map(
      (this.statements.meta.all() as { key: string; value: string }[]).map((row) => [row.key, row.value]),
    );
    return `${meta.get('epoch')}.${meta.get('version')}`;
  }

  /** Every ticket, for diagnostics and tests. */
  tickets(): LockTicketView[] {
    return (this.statements.all.all() as TicketRow[]).map(view);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    this.db.close();
  }
}

function view(row: TicketRow): LockTicketView {
  return {
    id: row.id,
    pid: row.pid,
    host: row.host,
    kind: row.kind,
    holding: row.holding === 1,
    purpose: row.purpose,
    since: row.since,
  };
}

/** A short description of who is in the way, for a log line. */
export function describeBlockers(blockers: readonly LockTicketView[], now = Date.now()): string {
  if (blockers.length === 0) return 'the lock file is busy';
  return blockers
    .slice(0, 3)
    .map(
      (ticket) =>
        `${ticket.purpose || 'unnamed'} (pid ${ticket.pid}${ticket.host === HOST ? '' : ` on ${ticket.host}`}, ${ticket.kind}, ${ticket.holding ? 'holding' : 'waiting'} ${Math.round((now - ticket.since) / 1000)} s)`,
    )
    .join(', ')
    .concat(blockers.length > 3 ? ` and ${blockers.length - 3} more` : '');
}
