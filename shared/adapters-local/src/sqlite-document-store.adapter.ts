import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  PermanentError,
  type DocumentStore,
  type FieldFilter,
  type JsonDocument,
  type QueryOptions,
  type StoredDocument,
} from '@mlops/kernel';

const FIELD = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const COLLECTION = /^[A-Za-z0-9_-]{1,100}$/;
const JSON_TYPES = { string: "= 'text'", number: "in ('integer', 'real')", boolean: "in ('true', 'false')" } as const;

/** Rows ANALYZE samples per index: enough for the planner, milliseconds on a million documents. */
const ANALYSIS_LIMIT = 1000;
/** Documents written before the first statistics refresh of a connection. */
const OPTIMIZE_FIRST = 1000;

/** How long a write waits for another connection's write transaction, as `busy_timeout` did. */
const BUSY_WAIT_MS = 10_000;
/** Pause between two tries of a busy write, ms. */
const BUSY_RETRY_MS = 2;
/**
 * Pause between two tries of a busy bulk write ({@link BULK_DOCUMENTS} or more), ms: longer than a
 * small write's, so that when one sales-gen thread commits a day, the run ledger's one-document
 * write (main thread, event loop busy) takes the lock before the other thread's next day. With
 * equal pauses the two threads' back-to-back days kept the ledger waiting past its 10 s.
 */
const BULK_RETRY_MS = 25;
/** Documents from which a write counts as bulk for {@link BULK_RETRY_MS}. */
const BULK_DOCUMENTS = 1000;
/**
 * Documents a connection writes between two checkpoints that empty the WAL. SQLite's automatic
 * checkpoint never resets the WAL while other connections keep reading and writing (two sales-gen
 * threads and the lander), so the file grew by every page each batch touched, all year long.
 * Ids are random, so a day's upserts dirty pages all over the key index, and a checkpoint copies
 * each page the WAL holds once however many days wrote it: a checkpoint every few days at scale 10
 * (each sales-gen thread's ~4 days of orders) copies fewer pages than one a day (bench/start README,
 * Session 11). Only a connection that writes this much checkpoints: the others (the run ledger on
 * the main thread) never pay for copying the bulk writers' pages.
 */
const CHECKPOINT_EVERY = 40_000;
/**
 * WAL bytes after which a commit runs SQLite's automatic (passive) checkpoint, in whichever
 * connection commits: a bound for when the bulk writers' checkpoints cannot run, far above what
 * {@link CHECKPOINT_EVERY} lets the WAL hold at scale 10 (~120 MB a day late in the year). SQLite's
 * default, 1,000 pages, was passed by nearly every day's commit and copied each day's pages again.
 * The file lives in the OS cache, not in the process.
 */
const AUTO_CHECKPOINT_BYTES = 2 ** 30;
/** The writing connection's page cache, KiB as SQLite counts a negative cache_size. */
const WRITE_CACHE_KIB = -65_536;
/** The bulk-read connection's page cache, KiB as SQLite counts a negative cache_size (see reader()). */
const READ_CACHE_KIB = -8192;
/** How long a writer waits for readers to leave the WAL before it checkpoints another time, ms. */
const CHECKPOINT_WAIT_MS = 500;

/** SQLITE_BUSY or SQLITE_LOCKED, extended codes included (SQLITE_BUSY_RECOVERY while another process recovers the WAL). */
function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

/** One page of documents in id order after a given id: `<id>/<json>` per row. */
function pageQuery(from: string, where: string): string {
  return `select id || '/' || data from ${from} where ${where} and id > ? order by id limit ?`;
}

function checkCollection(collection: string): void {
  if (!COLLECTION.test(collection))
    throw new PermanentError('STORE.BAD_COLLECTION', `collection name "${collection}" must match ${COLLECTION}`);
}

function checkField(field: string): void {
  if (!FIELD.test(field)) throw new PermanentError('STORE.BAD_FIELD', `field name "${field}" must match ${FIELD}`);
}

/** With `orderBy`, range conditions may name only that field (the same rule as on Firestore). */
function checkOrderBy(filters: readonly FieldFilter[], orderBy: string): void {
  checkField(orderBy);
  const other = filters.find((filter) => filter.op !== '==' && filter.field !== orderBy);
  if (other)
    throw new PermanentError(
      'STORE.BAD_QUERY',
      `a range condition on ${other.field} cannot be combined with ordering by ${orderBy}; order by ${other.field}`,
    );
}

/**
 * The embedded document store: one SQLite table of JSON documents, unique on (collection, id).
 * Documents live in a rowid table, so a batch is appended where the last one ended and a day's
 * documents stay together on disk whatever their ids; only the small key index takes random
 * inserts. Queried fields get a partial expression index per collection the first time they are
 * used, as Firestore indexes single fields automatically; the index ends with the id so streaming
 * in id order never sorts, and a write to one collection never evaluates another's indexes.
 */
export class SqliteDocumentStore implements DocumentStore {
  private readonly db: Database.Database;
  private readonly indexed = new Set<string>();
  private readonly path: string;
  private bulkReader: Database.Database | undefined;
  /** Documents this connection has written, and the count at which it next refreshes the statistics. */
  private written = 0;
  private optimizeAt = OPTIMIZE_FIRST;
  /** Documents written or deleted since this connection last emptied the WAL. */
  private sinceCheckpoint = 0;

  constructor(options: { path: string }) {
    this.path = options.path;
    if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
    this.db = new Database(options.path);
    // Pages of 16 KB instead of 4 KB for a new file (an existing one keeps its own): a day's
    // documents read in id order cost fewer page fetches and system calls (bench/bronze).
    this.db.pragma('page_size = 16384');
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma(`busy_timeout = ${BUSY_WAIT_MS}`);
    const pageBytes = this.db.pragma('page_size', { simple: true }) as number;
    this.db.pragma(`wal_autocheckpoint = ${AUTO_CHECKPOINT_BYTES / pageBytes}`);
    // A day's transaction dirties a page of the id index per document (ids are random): a cache that
    // holds them spills none to the WAL before the commit (the default holds 2 MB).
    this.db.pragma(`cache_size = ${WRITE_CACHE_KIB}`);
    // A file made by an earlier version keeps its table keyed by (collection, id) (without rowid).
    this.db.exec(`create table if not exists documents (
      collection text not null, id text not null, data text not null, updated_at integer not null)`);
    this.db.exec('create unique index if not exists documents_key on documents (collection, id)');
    // Planner statistics, sampled (analysis_limit) so refreshing them costs milliseconds: on open
    // for whatever an earlier process wrote, after bulk writes, and on close (SQLite's advice for
    // long-lived connections). Queries name their index anyway; the statistics keep every other
    // plan (counts, point reads, the key index on upserts) sound as a collection grows.
    this.db.pragma(`analysis_limit = ${ANALYSIS_LIMIT}`);
    this.optimize('0x10002');
  }

  /**
   * Run a write transaction, waiting for another connection's write (another thread's batch) with
   * the event loop free: SQLite's own busy wait sleeps in the thread, which blocked the main
   * thread's bus consumers and ledger behind a worker's batch of documents. The lock is taken at
   * BEGIN (immediate), so a busy try has done no work.
   */
  private async write<T>(work: () => T, documents: number): Promise<T> {
    const transaction = this.db.transaction(work);
    const deadline = Date.now() + BUSY_WAIT_MS;
    for (;;) {
      this.db.pragma('busy_timeout = 0');
      try {
        return transaction.immediate();
      } catch (error) {
        if (!isBusy(error) || Date.now() >= deadline) throw error;
      } finally {
        this.db.pragma(`busy_timeout = ${BUSY_WAIT_MS}`);
      }
      await sleep(documents >= BULK_DOCUMENTS ? BULK_RETRY_MS : BUSY_RETRY_MS);
    }
  }

  /**
   * Every {@link CHECKPOINT_EVERY} documents, copy the WAL into the database and truncate it, waiting
   * (event loop free) for readers to leave the WAL; when they stay, the next write tries again.
   */
  private async checkpointAfter(documents: number): Promise<void> {
    if (this.path === ':memory:') return;
    this.sinceCheckpoint += documents;
    if (this.sinceCheckpoint < CHECKPOINT_EVERY) return;
    // Copy the WAL first without the write lock (PASSIVE never waits and lets other connections
    // write meanwhile): TRUNCATE holds the write lock while it copies and syncs, and the WAL now
    // holds several days; it is left only what was written since.
    this.passiveCheckpoint();
    const deadline = Date.now() + CHECKPOINT_WAIT_MS;
    for (;;) {
      this.db.pragma('busy_timeout = 0');
      let busy: number;
      try {
        busy = (this.db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[])[0]!.busy;
      } catch (error) {
        if (!isBusy(error)) throw error;
        busy = 1;
      } finally {
        this.db.pragma(`busy_timeout = ${BUSY_WAIT_MS}`);
      }
      if (busy === 0) {
        this.sinceCheckpoint = 0;
        return;
      }
      if (Date.now() >= deadline) return;
      await sleep(BUSY_RETRY_MS);
    }
  }

  /** Copy what the WAL holds into the database while other connections go on writing; best effort. */
  private passiveCheckpoint(): void {
    this.db.pragma('busy_timeout = 0');
    try {
      this.db.pragma('wal_checkpoint(PASSIVE)');
    } catch (error) {
      if (!isBusy(error)) throw error;
    } finally {
      this.db.pragma(`busy_timeout = ${BUSY_WAIT_MS}`);
    }
  }

  /**
   * Refresh the statistics of tables and indexes that changed a lot (or never had any). Best effort
   * and never waiting: while another connection writes, the refresh waits for the next occasion.
   */
  private optimize(mask?: string): void {
    this.db.pragma('busy_timeout = 0');
    try {
      this.db.pragma(mask === undefined ? 'optimize' : `optimize = ${mask}`);
    } catch (error) {
      if (!isBusy(error)) throw error;
    } finally {
      this.db.pragma(`busy_timeout = ${BUSY_WAIT_MS}`);
    }
  }

  /** The partial index of a collection's field, created on first use; its name. */
  private ensureIndex(collection: string, field: string): string {
    const name = `"documents_${collection}_by_${field}"`;
    if (this.indexed.has(name)) return name;
    this.db.exec(
      `create index if not exists ${name} on documents (json_extract(data, '$.${field}'), id) where collection = '${collection}'`,
    );
    this.indexed.add(name);
    if (this.written > 0) this.optimize();
    return name;
  }

  private whereClause(
    collection: string,
    filters: readonly FieldFilter[],
    orderBy?: string,
  ): { sql: string; params: unknown[]; from: string } {
    checkCollection(collection);
    if (orderBy !== undefined) checkOrderBy(filters, orderBy);
    // The collection is a literal (its name is checked above) so that its partial indexes apply.
    const parts = [`collection = '${collection}'`];
    const params: unknown[] = [];
    const indexOf = new Map<string, string>();
    for (const filter of filters) {
      checkField(filter.field);
      if (!['==', '<', '<=', '>', '>='].includes(filter.op))
        throw new PermanentError('STORE.BAD_QUERY', `unsupported operator ${filter.op}`);
      indexOf.set(filter.field, this.ensureIndex(collection, filter.field));
      // Compare like Firestore: only values of the filter's own type match (SQLite would match 1 to true and 5 < '9').
      const sameType = JSON_TYPES[typeof filter.value as keyof typeof JSON_TYPES];
      if (!sameType)
        throw new PermanentError(
          'STORE.BAD_QUERY',
          `the value compared with ${filter.field} must be a string, a number or a boolean`,
        );
      parts.push(`json_extract(data, '$.${filter.field}') ${filter.op === '==' ? '=' : filter.op} ?`);
      // json_type parses each document the index found. Text equals a text value only when it is a
      // string or an object's or array's JSON text, so a string that starts with neither { nor [ can
      // only match a string: the index alone answers (the lander's run_date query).
      if (!(filter.op === '==' && typeof filter.value === 'string' && !/^[[{]/.test(filter.value)))
        parts.push(`json_type(data, '$.${filter.field}') ${sameType}`);
      params.push(typeof filter.value === 'boolean' ? Number(filter.value) : filter.value);
    }
    // Without statistics SQLite prefers the key index (it serves `order by id`) and scans the
    // whole collection; an equality filter's index (field, id) also yields id order, so name it:
    // a day's documents cost the same whatever the history holds.
    // Ordered by a field: that field's index serves the order and its range conditions.
    if (orderBy !== undefined) {
      const index = this.ensureIndex(collection, orderBy);
      parts.push(`json_extract(data, '$.${orderBy}') is not null`);
      return { sql: parts.join(' and '), params, from: `documents indexed by ${index}` };
    }
    const equality = filters.find((filter) => filter.op === '==');
    const from = equality ? `documents indexed by ${indexOf.get(equality.field)}` : 'documents';
    return { sql: parts.join(' and '), params, from };
  }

  async upsertBatch(collection: string, documents: readonly StoredDocument[]): Promise<number> {
    checkCollection(collection);
    const now = Date.now();
    const statement = this.db.prepare(
      'insert into documents (collection, id, data, updated_at) values (?, ?, ?, ?) on conflict (collection, id) do update set data = excluded.data, updated_at = excluded.updated_at',
    );
    // In id order (stable: a repeated id keeps its last version): a bulk read in id order then
    // walks each batch's rows forward instead of jumping about the day's pages.
    const ordered = [...documents].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    await this.write(() => {
      for (const document of ordered) {
        if (
          typeof document.id !== 'string' ||
          document.id.length === 0 ||
          document.id.length > 1500 ||
          document.id.includes('/')
        ) {
          throw new PermanentError(
            'STORE.BAD_ID',
            `document id ${JSON.stringify(document.id)} must be 1..1500 characters without "/"`,
          );
        }
        statement.run(collection, document.id, JSON.stringify(document.data), now);
      }
    }, documents.length);
    await this.checkpointAfter(documents.length);
    this.releaseCache();
    // After bulk writes, each time what this connection wrote doubles: a few times per process.
    this.written += documents.length;
    if (this.written >= this.optimizeAt) {
      this.optimizeAt = this.written * 2;
      this.optimize();
    }
    return documents.length;
  }

  async get(collection: string, id: string): Promise<StoredDocument | undefined> {
    checkCollection(collection);
    const row = this.db.prepare('select data from documents where collection = ? and id = ?').get(collection, id) as
      | { data: string }
      | undefined;
    return row ? { id, data: JSON.parse(row.data) as StoredDocument['data'] } : undefined;
  }

  /**
   * Pages of documents as stored text, in id order: one indexed range read per page, keyed on the
   * last id, through the bulk-read connection. Each row comes back as one string, `<id>/<json>` (an
   * id never holds a slash), cut in two here without copying: a bulk read of a million documents
   * costs ~20% less than two strings in an array per row.
   */
  private async *pages(collection: string, options: QueryOptions): AsyncIterable<JsonDocument[]> {
    if (options.orderBy !== undefined) {
      yield* this.orderedPages(collection, options.orderBy, options);
      return;
    }
    const { sql, params, from } = this.whereClause(collection, options.where ?? []);
    const pageSize = Math.max(1, options.pageSize ?? 1000);
    let remaining = options.limit ?? Number.POSITIVE_INFINITY;
    let after = '';
    const statement = this.reader().prepare(pageQuery(from, sql)).pluck(true);
    while (remaining > 0) {
      const rows = statement.all(...params, after, Math.min(pageSize, remaining)) as string[];
      if (rows.length === 0) return;
      const page = rows.map((row) => {
        const slash = row.indexOf('/');
        return { id: row.slice(0, slash), json: row.slice(slash + 1) };
      });
      yield page;
      remaining -= rows.length;
      after = page[page.length - 1]!.id;
      if (rows.length < pageSize) return;
    }
  }

  /** Pages in (field, id) order: a keyset read on the field's index, resuming after the last (value, id). */
  private async *orderedPages(collection: string, field: string, options: QueryOptions): AsyncIterable<JsonDocument[]> {
    const { sql, params, from } = this.whereClause(collection, options.where ?? [], field);
    const pageSize = Math.max(1, options.pageSize ?? 1000);
    let remaining = options.limit ?? Number.POSITIVE_INFINITY;
    const value = `json_extract(data, '$.${field}')`;
    const select = `select ${value} as v, id || '/' || data as row from ${from} where ${sql}`;
    const first = this.reader().prepare(`${select} order by ${value}, id limit ?`);
    const next = this.reader().prepare(
      `${select} and (${value} > ? or (${value} = ? and id > ?)) order by ${value}, id limit ?`,
    );
    let after: { v: unknown; id: string } | undefined;
    while (remaining > 0) {
      const size = Math.min(pageSize, remaining);
      const rows = (after ? next.all(...params, after.v, after.v, after.id, size) : first.all(...params, size)) as {
        v: unknown;
        row: string;
      }[];
      if (rows.length === 0) return;
      const page = rows.map(({ row }) => {
        const slash = row.indexOf('/');
        return { id: row.slice(0, slash), json: row.slice(slash + 1) };
      });
      yield page;
      remaining -= rows.length;
      after = { v: rows[rows.length - 1]!.v, id: page[page.length - 1]!.id };
      if (rows.length < size) return;
    }
  }

  async *query(collection: string, options: QueryOptions = {}): AsyncIterable<StoredDocument> {
    for await (const page of this.pages(collection, options)) {
      for (const { id, json } of page) yield { id, data: JSON.parse(json) as StoredDocument['data'] };
    }
  }

  /** The stored text as it is: documents are kept as `JSON.stringify` wrote them. */
  queryJson(collection: string, options: QueryOptions = {}): AsyncIterable<readonly JsonDocument[]> {
    return this.pages(collection, options);
  }

  /**
   * The connection bulk reads go through: its own, read-only, except for an in-memory database,
   * which has no other connection. A day's documents sit together, written batch by batch each in
   * id order; read in id order they come from every batch of the day at once, so the cache holds a
   * page per batch: 8 MB, 512 pages of 16 KB, enough for a day written in up to ~500 batches
   * (sales-gen writes up to 20,000 documents a batch: 50 for a day of 1M). The 32 MB it had for
   * batches of 500 filled on every big day and counted in the lander's peak RSS (bench/bronze).
   */
  private reader(): Database.Database {
    if (this.path === ':memory:') return this.db;
    if (!this.bulkReader) {
      const reader = new Database(this.path, { readonly: true, fileMustExist: true });
      reader.pragma(`cache_size = ${READ_CACHE_KIB}`);
      reader.pragma('busy_timeout = 10000');
      this.bulkReader = reader;
    }
    return this.bulkReader;
  }

  async count(collection: string, options: Pick<QueryOptions, 'where'> = {}): Promise<number> {
    const { sql, params, from } = this.whereClause(collection, options.where ?? []);
    return (this.db.prepare(`select count(*) as n from ${from} where ${sql}`).get(...params) as { n: number }).n;
  }

  async deleteMany(collection: string, ids: readonly string[]): Promise<number> {
    checkCollection(collection);
    const statement = this.db.prepare('delete from documents where collection = ? and id = ?');
    let deleted = 0;
    await this.write(() => {
      for (const id of ids) deleted += statement.run(collection, id).changes;
    }, ids.length);
    await this.checkpointAfter(ids.length);
    this.releaseCache();
    return deleted;
  }

  /**
   * Give the writer's page cache back after a write transaction. The cache is sized for one
   * transaction's dirty pages (see {@link WRITE_CACHE_KIB}), but SQLite keeps every page it ever
   * held until the connection closes: sales-gen's thread ended `npm start`'s generating with its
   * 64 MB full of pages no later day writes again, at the moment the process peaks (generators,
   * lander and the first transform run together). Reloading what the next transaction touches costs
   * no measurable CPU (bench/start README, Session 10).
   */
  private releaseCache(): void {
    this.db.pragma('shrink_memory');
  }

  /**
   * SQLite's plan of the page query `queryJson` runs for these options (EXPLAIN QUERY PLAN details),
   * so tests can check that a day's documents are found through the field's index.
   */
  explainQuery(collection: string, options: Pick<QueryOptions, 'where'> = {}): string[] {
    const { sql, params, from } = this.whereClause(collection, options.where ?? []);
    const rows = this.reader()
      .prepare(`explain query plan ${pageQuery(from, sql)}`)
      .all(...params, '', 1) as { detail: string }[];
    return rows.map((row) => row.detail);
  }

  async close(): Promise<void> {
    if (this.written > 0) this.optimize();
    this.bulkReader?.close();
    this.db.close();
  }
}
