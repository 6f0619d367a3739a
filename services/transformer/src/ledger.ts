/**
 * The transformer's ledger in the document store: which sources have landed for each run date and
 * which dates have been built from which inputs. One document per natural key, written by upsert,
 * so a redelivered event rewrites the same document and two events never race on one document.
 *
 * - `landed_<date>_<source>`: the partition's content hash, row count, load type, backfill window,
 *   and its files with their sizes (checked before a build);
 * - `built_<date>`: the inputs hash the date was last built from and how the build ended: ready,
 *   failed (its assertions) or broken (a partition could not be read: the file and the reason).
 */
import { createHash } from 'node:crypto';
import type { BackfillWindow, BronzeLanded, BronzeSource, DocumentStore, StoredDocument } from '@mlops/kernel';

/** Default collection of the ledger. */
export const LEDGER_COLLECTION = 'transformer_ledger';

/** One landed partition. */
export interface LandedEntry {
  runDate: string;
  source: BronzeSource;
  contentHash: string;
  rowCount: number;
  loadType: BronzeLanded['loadType'];
  backfill?: BackfillWindow;
  /** The partition's files as landed (absent in entries written before they were recorded). */
  objects?: { key: string; bytes: number }[];
}

/** How a date was last built. */
export interface BuiltEntry {
  runDate: string;
  inputsHash: string;
  /**
   * ready; failed: its assertions failed (retried only when a partition changes); broken: a
   * partition could not be read (retried on the next event of that date, or of the same event);
   * pending: submitted to an engine that finishes later (gcp), whose completion settles it.
   */
  status: 'ready' | 'failed' | 'broken' | 'pending';
  /** Broken: the error code, what was wrong, the files it names and the event that found it. */
  code?: string;
  reason?: string;
  files?: string[];
  causeEventId?: string;
}

/** What the ledger knows. */
export interface LedgerState {
  landed: Map<string, Map<BronzeSource, LandedEntry>>;
  built: Map<string, BuiltEntry>;
  /** Ids of documents in the collection that are not ledger entries (left alone). */
  foreign: string[];
}

const landedId = (runDate: string, source: BronzeSource) => `landed_${runDate}_${source}`;
const builtId = (runDate: string) => `built_${runDate}`;

/** Record a landed partition (idempotent: the same event writes the same document). */
export async function recordLanded(documents: DocumentStore, collection: string, landed: BronzeLanded): Promise<void> {
  const data: StoredDocument['data'] = {
    kind: 'landed',
    runDate: landed.runDate,
    source: landed.source,
    contentHash: landed.contentHash,
    rowCount: landed.rowCount,
    loadType: landed.loadType,
    ...(landed.backfill ? { backfillFrom: landed.backfill.from, backfillTo: landed.backfill.to } : {}),
    objects: landed.objects.map((object) => ({ key: object.key, bytes: object.bytes })),
  };
  await documents.upsertBatch(collection, [{ id: landedId(landed.runDate, landed.source), data }]);
}

/** Record how dates were built. */
export async function recordBuilt(
  documents: DocumentStore,
  collection: string,
  entries: readonly BuiltEntry[],
): Promise<void> {
  await documents.upsertBatch(
    collection,
    entries.map((entry) => ({
      id: builtId(entry.runDate),
      data: {
        kind: 'built',
        runDate: entry.runDate,
        inputsHash: entry.inputsHash,
        status: entry.status,
        ...(entry.code === undefined ? {} : { code: entry.code }),
        ...(entry.reason === undefined ? {} : { reason: entry.reason }),
        ...(entry.files === undefined ? {} : { files: entry.files }),
        ...(entry.causeEventId === undefined ? {} : { causeEventId: entry.causeEventId }),
      },
    })),
  );
}

/** Read the whole ledger (one document per source and date: small, and read once per event). */
export async function readLedger(documents: DocumentStore, collection: string): Promise<LedgerState> {
  const state: LedgerState = { landed: new Map(), built: new Map(), foreign: [] };
  for await (const document of documents.query(collection)) {
    const data = document.data;
    if (
      data.kind === 'landed' &&
      typeof data.runDate === 'string' &&
      typeof data.source === 'string' &&
      typeof data.contentHash === 'string'
    ) {
      const entry: LandedEntry = {
        runDate: data.runDate,
        source: data.source as BronzeSource,
        contentHash: data.contentHash,
        rowCount: Number(data.rowCount ?? 0),
        loadType: (data.loadType as LandedEntry['loadType']) ?? 'daily',
        ...(typeof data.backfillFrom === 'string' && typeof data.backfillTo === 'string'
          ? { backfill: { from: data.backfillFrom, to: data.backfillTo } }
          : {}),
        ...(Array.isArray(data.objects) ? { objects: landedObjects(data.objects) } : {}),
      };
      let sources = state.landed.get(entry.runDate);
      if (!sources) state.landed.set(entry.runDate, (sources = new Map()));
      sources.set(entry.source, entry);
    } else if (data.kind === 'built' && typeof data.runDate === 'string' && typeof data.inputsHash === 'string') {
      state.built.set(data.runDate, {
        runDate: data.runDate,
        inputsHash: data.inputsHash,
        status:
          data.status === 'failed' || data.status === 'broken' || data.status === 'pending' ? data.status : 'ready',
        ...(typeof data.code === 'string' ? { code: data.code } : {}),
        ...(typeof data.reason === 'string' ? { reason: data.reason } : {}),
        ...(Array.isArray(data.files) ? { files: data.files.filter((file) => typeof file === 'string') } : {}),
        ...(typeof data.causeEventId === 'string' ? { causeEventId: data.causeEventId } : {}),
      });
    } else {
      state.foreign.push(document.id);
    }
  }
  return state;
}

function landedObjects(values: unknown[]): { key: string; bytes: number }[] {
  return values.flatMap((value) => {
    const object = value as { key?: unknown; bytes?: unknown } | null;
    return object && typeof object.key === 'string' && typeof object.bytes === 'number'
      ? [{ key: object.key, bytes: object.bytes }]
      : [];
  });
}

/** A hash of the partitions a date is built from (source and content hash, in source order). */
export function inputsHash(entries: Iterable<LandedEntry>): string {
  const hash = createHash('sha256');
  for (const entry of [...entries].sort((a, b) => a.source.localeCompare(b.source)))
    hash.update(`${entry.source} ${entry.contentHash}\n`);
  return hash.digest('hex');
}

/**
 * Put back how dates were built before a run that did not complete (a failed or timed-out
 * invocation): their previous entries, or none, so the next landed partition builds them again.
 */
export async function restoreBuilt(
  documents: DocumentStore,
  collection: string,
  previous: readonly { runDate: string; entry?: BuiltEntry }[],
): Promise<void> {
  const kept = previous.flatMap((item) => (item.entry ? [item.entry] : []));
  if (kept.length > 0) await recordBuilt(documents, collection, kept);
  const removed = previous.filter((item) => !item.entry).map((item) => builtId(item.runDate));
  if (removed.length > 0) await documents.deleteMany(collection, removed);
}
