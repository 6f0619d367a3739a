/**
 * Warehouse access on a local DuckDB file, shared by any number of processes.
 *
 * DuckDB lets one process open a file read-write, or several open it read-only, never both. So a
 * process opens the file only for its sessions: read-only for read sessions, read-write for write
 * sessions, and closes it when they end. Whose turn it is comes from a fair readers-writer lock
 * beside the file (`warehouse-lock.adapter.ts`); DuckDB's own file lock stays the last word, and
 * an open refused by it is tried again until the session's bound.
 *
 * Inside one process every session shares one DuckDB instance: write sessions follow one another
 * on the read-write instance, and read sessions run beside them, each in a read transaction of its
 * own (a consistent snapshot that sees no write in progress). A process closes a read-write file
 * as soon as its last session ends (no process holds the writer lock while idle); an idle
 * read-only file stays open for `readLingerMs` unless a writer waits, so a burst of reads pays
 * for one open.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { existsSync } from 'node:fs';
import type { DuckDBInstance } from '@duckdb/node-api';
import {
  WarehouseErrors,
  cappedWarehouseMemoryLimit,
  errorMessage,
  type Logger,
  type WarehouseAccess,
  type WarehouseSessionOptions,
  type Warehouse,
} from '@mlops/kernel';
import {
  createDuckDbInstance,
  DuckDbWarehouse,
  markAccessed,
  type DuckDbMemoryOptions,
} from './duckdb-warehouse.adapter.js';
import { describeBlockers, WarehouseLock, type LockKind, type LockTicketView } from './warehouse-lock.adapter.js';

/** Options of {@link openDuckDbWarehouseAccess}. */
export interface DuckDbWarehouseAccessOptions {
  /** The DuckDB file, or `:memory:` (one process, nothing shared). */
  path: string;
  /** Longest wait for a session before `WAREHOUSE.BUSY` (default 10 minutes). */
  waitMs?: number;
  /** How long an idle read-only file stays open while no writer waits (default 1 s). */
  readLingerMs?: number;
  /** Where waits are logged when a session names no logger. */
  log?: Logger;
  /** DuckDB threads (default: one per core). */
  threads?: number;
  /**
   * DuckDB's `memory_limit` for the file's instances (default DuckDB's: 80% of the machine's memory),
   * or the thread's cap when lower for an instance that creates the file (`capWarehouseMemory`).
   */
  memoryLimit?: string;
  /** The lock file (default: `<path>.lock`). */
  lockPath?: string;
  /** A lock ticket not refreshed for this long is dropped (default 30 s). */
  staleMs?: number;
}

type Mode = 'closed' | 'read' | 'write';

interface Waiter {
  readonly kind: LockKind;
  readonly purpose: string;
  readonly log: Logger | undefined;
  readonly since: number;
  readonly deadline: number;
  resolve(session: Active): void;
  reject(error: unknown): void;
  timer?: NodeJS.Timeout;
  logTimer?: NodeJS.Timeout;
  /** Who was in the way when last looked at. */
  blockers: string;
  logged: boolean;
}

interface Active {
  readonly kind: LockKind;
  readonly purpose: string;
  readonly since: number;
}

const LOCKED = /could not set lock|conflicting lock|database is locked|database file is locked/i;
const FIRST_WAIT_LOG_MS = 1_000;
const WAIT_LOG_EVERY_MS = 30_000;
const WATCH_MS = 25;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The sessions of this process on one file; every access to that file in the process shares it. */
class FileSessions {
  private mode: Mode = 'closed';
  private instance: DuckDBInstance | undefined;
  private ticket: number | undefined;
  private readonly active = new Set<Active>();
  private writing = false;
  private readonly queue: Waiter[] = [];
  private driving = false;
  private idleSince = 0;
  private othersWait = false;
  private watch: NodeJS.Timeout | undefined;
  private memoryVersion = 0;
  readonly lock: WarehouseLock | undefined;
  readonly scope = new AsyncLocalStorage<FileSessions>();
  refs = 0;

  constructor(
    readonly path: string,
    private readonly options: DuckDbWarehouseAccessOptions,
  ) {
    this.lock =
      path === ':memory:'
        ? undefined
        : new WarehouseLock({
            path: options.lockPath ?? `${path}.lock`,
            ...(options.staleMs ? { staleMs: options.staleMs } : {}),
          });
  }

  async session<T>(
    kind: LockKind,
    work: (warehouse: Warehouse) => Promise<T>,
    options: WarehouseSessionOptions,
  ): Promise<T> {
    const purpose = options.purpose ?? '';
    if (this.scope.getStore() === this) throw WarehouseErrors.nested(kind, purpose);
    const entry = await this.admit(kind, purpose, options);
    let warehouse: DuckDbWarehouse | undefined;
    const instance = this.instance!;
    const connection = await instance.connect().catch((error: unknown) => {
      this.leave(entry);
      throw error;
    });
    try {
      // A read session is one read transaction: a consistent snapshot for all its queries.
      if (kind === 'read') await connection.run('begin transaction');
      warehouse = DuckDbWarehouse.onConnection(instance, connection, kind === 'read', this.path);
      return await this.scope.run(this, () => work(warehouse!));
    } finally {
      await warehouse?.end(`the ${kind} session${purpose ? ` (${purpose})` : ''} has ended`);
      if (kind === 'read') await connection.run('rollback').catch(() => undefined);
      connection.closeSync();
      if (kind === 'write') {
        this.memoryVersion += 1;
        await this.lock?.bump();
      }
      this.leave(entry);
    }
  }

  private leave(entry: Active): void {
    this.active.delete(entry);
    if (entry.kind === 'write') this.writing = false;
    void this.drive();
  }

  private admit(kind: LockKind, purpose: string, options: WarehouseSessionOptions): Promise<Active> {
    return new Promise<Active>((resolve, reject) => {
      const now = Date.now();
      const waiter: Waiter = {
        kind,
        purpose,
        log: options.log ?? this.options.log,
        since: now,
        deadline: now + (options.waitMs ?? this.options.waitMs ?? 600_000),
        resolve,
        reject,
        blockers: '',
        logged: false,
      };
      this.queue.push(waiter);
      void this.drive();
      if (!this.queue.includes(waiter)) return;
      waiter.timer = setTimeout(() => this.expire(waiter), Math.max(0, waiter.deadline - now));
      waiter.logTimer = setTimeout(() => this.logWait(waiter), FIRST_WAIT_LOG_MS);
    });
  }

  private blockersOf(waiter: Waiter): string {
    if (waiter.blockers) return waiter.blockers;
    const now = Date.now();
    const mine = [...this.active].map(
      (session) =>
        `${session.purpose || 'unnamed'} (this process, ${session.kind}, ${Math.round((now - session.since) / 1000)} s)`,
    );
    return mine.length > 0 ? mine.join(', ') : 'another session of this process';
  }

  private logWait(waiter: Waiter): void {
    if (!this.queue.includes(waiter)) return;
    waiter.logged = true;
    const waited = Date.now() - waiter.since;
    waiter.log?.info(
      `waiting for the warehouse: ${waiter.purpose || 'a'} ${waiter.kind} session waits behind ${this.blockersOf(waiter)}`,
      { waitedMs: waited, session: waiter.kind },
    );
    waiter.logTimer = setTimeout(() => this.logWait(waiter), WAIT_LOG_EVERY_MS);
  }

  private dequeue(waiter: Waiter): void {
    clearTimeout(waiter.timer);
    clearTimeout(waiter.logTimer);
    const index = this.queue.indexOf(waiter);
    if (index >= 0) this.queue.splice(index, 1);
  }

  private fail(waiter: Waiter, error: unknown): void {
    this.dequeue(waiter);
    waiter.reject(error);
  }

  private busy(waiter: Waiter): void {
    this.fail(
      waiter,
      WarehouseErrors.busy(waiter.kind, waiter.purpose, Date.now() - waiter.since, this.blockersOf(waiter)),
    );
  }

  /** Start the waiter's session: it counts as active from now on. */
  private grant(waiter: Waiter): void {
    this.dequeue(waiter);
    const session: Active = { kind: waiter.kind, purpose: waiter.purpose, since: Date.now() };
    this.active.add(session);
    if (waiter.kind === 'write') this.writing = true;
    if (waiter.logged)
      waiter.log?.info(`warehouse ${waiter.kind} session started after waiting`, {
        waitedMs: Date.now() - waiter.since,
        session: waiter.kind,
      });
    waiter.resolve(session);
  }

  private expire(waiter: Waiter): void {
    // The head of the queue may be opening the file for itself: that loop gives up on its own.
    if (this.queue[0] === waiter && this.driving) return;
    if (this.queue.includes(waiter)) this.busy(waiter);
  }

  private canGrant(waiter: Waiter): boolean {
    if (waiter.kind === 'read') return this.mode !== 'closed' && !this.othersWait;
    return this.mode === 'write' && !this.writing && !(this.othersWait && this.lock !== undefined);
  }

  /** Serve the queue in order; change the file's mode when nothing runs and the head needs it. */
  private async drive(): Promise<void> {
    if (this.driving) return;
    this.driving = true;
    try {
      for (;;) {
        const head = this.queue[0];
        if (!head) break;
        // A session whose file is open goes in, even when opening it took past its bound.
        if (this.canGrant(head)) {
          this.grant(head);
          continue;
        }
        if (head.deadline <= Date.now()) {
          this.busy(head);
          continue;
        }
        if (this.active.size > 0) break;
        await this.closeFile();
        try {
          await this.openFile(head);
        } catch (error) {
          this.fail(head, error);
        }
      }
    } finally {
      this.driving = false;
    }
    if (this.queue.length === 0 && this.active.size === 0) this.idle();
  }

  private idle(): void {
    this.idleSince = Date.now();
    // A read-write file is let go at once; a read-only one lingers (see the module comment).
    if (this.mode === 'write' && this.lock) void this.closeFile().then(() => this.drive());
  }

  private startWatch(): void {
    if (this.watch || !this.lock) return;
    this.watch = setInterval(() => {
      const lock = this.lock!;
      const before = this.othersWait;
      this.othersWait = lock.othersWaiting(this.mode === 'read' ? 'write' : 'any');
      const quiet = this.active.size === 0 && this.queue.length === 0 && !this.driving;
      const linger = this.options.readLingerMs ?? 1_000;
      if (quiet && (this.othersWait || this.mode === 'write' || Date.now() - this.idleSince >= linger)) {
        void this.closeFile();
      } else if (before !== this.othersWait) void this.drive();
    }, WATCH_MS);
    this.watch.unref();
  }

  private async openFile(head: Waiter): Promise<void> {
    const kind = head.kind;
    if (!this.lock) {
      // In memory: one read-write instance for the life of the access.
      this.instance = await createDuckDbInstance(this.path, false, this.options.threads, this.memory(false));
      this.mode = 'write';
      return;
    }
    const lock = this.lock;
    let ticket = await lock.enqueue(kind, head.purpose);
    try {
      for (let delay = 2; ; delay = Math.min(50, delay * 1.5)) {
        const outcome = lock.tryGrant(ticket, kind);
        if (outcome === 'granted') break;
        if (outcome === 'lost') {
          ticket = await lock.enqueue(kind, head.purpose);
          continue;
        }
        if (outcome.length > 0) head.blockers = describeBlockers(outcome as LockTicketView[]);
        if (Date.now() >= head.deadline || this.queue[0] !== head)
          throw WarehouseErrors.busy(kind, head.purpose, Date.now() - head.since, this.blockersOf(head));
        await sleep(delay);
      }
      if (kind === 'read' && !existsSync(this.path)) throw WarehouseErrors.missing(this.path);
      markAccessed(this.path, true);
      this.instance = await this.openInstance(head);
      this.ticket = ticket;
      this.mode = kind;
      this.othersWait = false;
      this.startWatch();
    } catch (error) {
      markAccessed(this.path, false);
      await lock.release(ticket);
      throw error;
    } finally {
      head.blockers = '';
    }
  }

  /** The memory settings of an instance opened now: the configured limit, or the thread's cap if it creates the file. */
  private memory(creates: boolean): DuckDbMemoryOptions {
    const memoryLimit = cappedWarehouseMemoryLimit(this.options.memoryLimit, creates);
    return memoryLimit ? { memoryLimit } : {};
  }

  /** Open the DuckDB file, trying again while a process outside the lock holds it. */
  private async openInstance(head: Waiter): Promise<DuckDBInstance> {
    for (let delay = 10; ; delay = Math.min(500, delay * 2)) {
      try {
        const creates = head.kind === 'write' && !existsSync(this.path);
        return await createDuckDbInstance(this.path, head.kind === 'read', this.options.threads, this.memory(creates));
      } catch (error) {
        const message = errorMessage(error);
        if (!LOCKED.test(message)) throw error;
        head.blockers = `a process outside the lock (${message.split('\n')[0]!.slice(0, 200)})`;
        if (Date.now() >= head.deadline)
          throw WarehouseErrors.busy(head.kind, head.purpose, Date.now() - head.since, head.blockers);
        await sleep(delay);
      }
    }
  }

  private async closeFile(): Promise<void> {
    if (this.mode === 'closed' || !this.lock) return;
    const instance = this.instance;
    const ticket = this.ticket;
    this.mode = 'closed';
    this.instance = undefined;
    this.ticket = undefined;
    this.othersWait = false;
    clearInterval(this.watch);
    this.watch = undefined;
    instance?.closeSync();
    markAccessed(this.path, false);
    if (ticket !== undefined) await this.lock.release(ticket);
  }

  /** Close an idle read-only file now instead of after `readLingerMs` (DuckDB's close is synchronous). */
  async release(): Promise<void> {
    const quiet = this.active.size === 0 && this.queue.length === 0 && !this.driving;
    if (quiet && this.mode === 'read') await this.closeFile();
  }

  version(): string {
    if (!this.lock) return `memory.${this.memoryVersion}`;
    return existsSync(this.path) ? this.lock.version() : 'missing';
  }

  async close(): Promise<void> {
    while (this.active.size > 0 || this.queue.length > 0 || this.driving) await sleep(10);
    clearInterval(this.watch);
    this.watch = undefined;
    if (this.lock) await this.closeFile();
    else {
      this.instance?.closeSync();
      this.instance = undefined;
      this.mode = 'closed';
    }
    this.lock?.close();
  }
}

const files = new Map<string, FileSessions>();

/**
 * Open access to a DuckDB warehouse file (see the module comment). Every access to one file in
 * a process shares its sessions; the file is opened only for them.
 */
export function openDuckDbWarehouseAccess(options: DuckDbWarehouseAccessOptions): WarehouseAccess {
  const key = options.path;
  let file = key === ':memory:' ? undefined : files.get(key);
  if (!file) {
    file = new FileSessions(key, options);
    if (key !== ':memory:') files.set(key, file);
  }
  const sessions = file;
  sessions.refs += 1;
  let closed = false;
  return {
    read: (work, sessionOptions = {}) => sessions.session('read', work, sessionOptions),
    write: (work, sessionOptions = {}) => sessions.session('write', work, sessionOptions),
    version: async () => sessions.version(),
    release: async () => {
      if (!closed) await sessions.release();
    },
    async close() {
      if (closed) return;
      closed = true;
      sessions.refs -= 1;
      if (sessions.refs > 0) return;
      if (files.get(key) === sessions) files.delete(key);
      await sessions.close();
    },
  };
}
