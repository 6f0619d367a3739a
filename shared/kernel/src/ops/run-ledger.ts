import type { AnyEvent } from '../events/cloud-event.js';
import { eventTypes } from '../events/event-catalog.js';
import type { DocumentStore, DocumentValue } from '../ports/document-store.port.js';
import type { Service } from '../runtime/service.js';
import type { LedgerEntry } from './ledger-entry.js';
import { summariseRuns, type RunSummary } from './run-summary.js';

export type { LedgerEntry } from './ledger-entry.js';
export { RUN_STAGES, summariseRuns, type RunStage, type RunSummary, type StageStatus } from './run-summary.js';

/** Collection of the run ledger in the document store. */
export const RUN_LEDGER_COLLECTION = 'run_events';

/** The field incremental readers keep their cursor on (ordered reads need its index). */
export const RECORDED_AT_FIELD = 'recordedAt';

const SUMMARY_FIELDS = [
  'runDate',
  'trigger',
  'scale',
  'seed',
  'source',
  'rowCount',
  'bytes',
  'documentCount',
  'dirtyCount',
  'loadType',
  'contentHash',
  'engine',
  'durationMs',
  'runDates',
  'modelName',
  'version',
  'promoted',
  'championVersion',
  'snapshotDate',
  'modelVersion',
  'rows',
  'stage',
  'code',
  'reason',
  'metrics',
  'riskBands',
  'quarantine',
  'assertions',
  'tables',
  'backfill',
];

function summarise(event: AnyEvent): Record<string, DocumentValue> {
  const data = event.data as unknown as Record<string, DocumentValue>;
  const out: Record<string, DocumentValue> = {};
  for (const field of SUMMARY_FIELDS) if (data[field] !== undefined) out[field] = data[field]!;
  return out;
}

function stageOf(source: string): string {
  return source.replace(/^\/\/mlops\//, '') || source;
}

/** An entry as stored, with the fields older ledgers lack filled in. */
function entryOf(data: Record<string, DocumentValue>): LedgerEntry {
  const entry = data as unknown as Partial<LedgerEntry> & Omit<LedgerEntry, 'causationId' | 'handlingStart'>;
  return {
    ...entry,
    causationId: entry.causationId ?? null,
    handlingStart: entry.handlingStart ?? null,
    latest: entry.latest ?? null,
    recordedAt: entry.recordedAt ?? entry.time,
  };
}

const byTime = (a: LedgerEntry, b: LedgerEntry) => a.time.localeCompare(b.time) || a.eventId.localeCompare(b.eventId);

/**
 * The run ledger: every event of every run, kept by event id (so redelivery is harmless), and the
 * runs and stage timings derived from them. It feeds `mlops status`, `--attach` progress and the
 * operations view. An event emitted again (a replay re-runs a handler, which emits the same ids)
 * keeps its first time and handling start and notes the latest.
 */
export class RunLedger {
  constructor(
    private readonly documents: DocumentStore,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Record an event (idempotent by event id; a re-emission keeps the first timings). */
  async record(event: AnyEvent): Promise<void> {
    const incoming = {
      time: event.time,
      handlingStart: event.handlingstart ?? null,
    };
    const stored = await this.documents.get(RUN_LEDGER_COLLECTION, event.id);
    let entry: LedgerEntry;
    if (stored) {
      const first = entryOf(stored.data);
      const same = (t: { time: string; handlingStart: string | null } | null) =>
        t !== null && t.time === incoming.time && t.handlingStart === incoming.handlingStart;
      if (same(first) || same(first.latest)) return; // a redelivery: nothing new
      // Recorded out of order: the earlier emission is the first.
      entry =
        incoming.time < first.time
          ? { ...first, ...incoming, latest: { time: first.time, handlingStart: first.handlingStart } }
          : {
              ...first,
              latest: first.latest && first.latest.time > incoming.time ? first.latest : incoming,
            };
    } else {
      entry = {
        eventId: event.id,
        type: event.type,
        runId: event.runid,
        runDate: event.rundate,
        time: event.time,
        stage: stageOf(event.source),
        subject: event.subject ?? null,
        summary: summarise(event),
        causationId: event.causationid ?? null,
        handlingStart: incoming.handlingStart,
        latest: null,
        recordedAt: '',
      };
    }
    entry.recordedAt = this.clock().toISOString();
    await this.documents.upsertBatch(RUN_LEDGER_COLLECTION, [
      { id: event.id, data: entry as unknown as Record<string, DocumentValue> },
    ]);
  }

  /** Every entry, or a run's entries, oldest first. */
  async entries(filter: { runId?: string } = {}): Promise<LedgerEntry[]> {
    const out: LedgerEntry[] = [];
    const where = filter.runId ? [{ field: 'runId', op: '==' as const, value: filter.runId }] : [];
    for await (const document of this.documents.query(RUN_LEDGER_COLLECTION, { where, pageSize: 2000 }))
      out.push(entryOf(document.data));
    return out.sort(byTime);
  }

  /** Runs, newest first, with their stages and timings. */
  async runs(options: { limit?: number } = {}): Promise<RunSummary[]> {
    const runs = summariseRuns(await this.entries());
    return runs.slice(0, options.limit ?? runs.length);
  }

  /**
   * An incremental reader of the ledger from a point in time (or from the beginning): each poll
   * reads only entries recorded since the previous one.
   */
  follow(options: { since?: Date; overlapMs?: number } = {}): LedgerFollower {
    return new LedgerFollower(this.documents, options);
  }
}

/**
 * Follows the ledger by its `recordedAt` cursor: a poll reads the entries recorded since the newest
 * one it has seen, less an overlap that catches writes which were stamped earlier but committed
 * later (concurrent recorders). What it reads per poll depends on recent activity, not on history.
 */
export class LedgerFollower {
  private cursor: string | undefined;
  private readonly overlapMs: number;
  private readonly known = new Map<string, LedgerEntry>();
  /** Documents the last poll read from the store. */
  lastRead = 0;

  constructor(
    private readonly documents: DocumentStore,
    options: { since?: Date; overlapMs?: number },
  ) {
    this.overlapMs = options.overlapMs ?? 5_000;
    if (options.since) this.cursor = options.since.toISOString();
  }

  /** Read what was recorded since the last poll; resolves to the entries that are new or changed. */
  async poll(): Promise<LedgerEntry[]> {
    // The first read of a follower from the beginning takes everything, entries of older ledgers
    // (without a recordedAt) included; later reads go by the cursor.
    const query = this.cursor
      ? {
          orderBy: RECORDED_AT_FIELD,
          where: [
            {
              field: RECORDED_AT_FIELD,
              op: '>=' as const,
              value: new Date(Date.parse(this.cursor) - this.overlapMs).toISOString(),
            },
          ],
          pageSize: 500,
        }
      : { pageSize: 2000 };
    const changed: LedgerEntry[] = [];
    let read = 0;
    for await (const document of this.documents.query(RUN_LEDGER_COLLECTION, query)) {
      read += 1;
      const entry = entryOf(document.data);
      if (!this.cursor || entry.recordedAt > this.cursor) this.cursor = entry.recordedAt;
      if (this.known.get(entry.eventId)?.recordedAt === entry.recordedAt) continue;
      this.known.set(entry.eventId, entry);
      changed.push(entry);
    }
    this.lastRead = read;
    return changed;
  }

  /** Every entry followed so far, oldest first. */
  entries(): LedgerEntry[] {
    return [...this.known.values()].sort(byTime);
  }
}

/**
 * The observer that keeps the run ledger: subscribed to every topic, it records each event.
 * It belongs to the operations view (the dashboard stage).
 */
export function createRunLedgerService(ledger: RunLedger): Service {
  return {
    name: 'dashboard',
    consumes: eventTypes,
    concurrency: 4,
    handle: (event) => ledger.record(event),
  };
}
