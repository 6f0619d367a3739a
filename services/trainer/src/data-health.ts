/**
 * Run dates an upstream stage failed for. The transformer writes a date's tables before its
 * assertions run, so a failed date's rows sit in the warehouse even though no `warehouse.ready`
 * announced them; the trainer remembers such dates (from `stage.failed`) and leaves out every
 * snapshot whose features or label window read them, until a `warehouse.ready` for the date says
 * it was rebuilt. The newest event wins, so a late redelivery does not undo a newer status.
 */
import type { DocumentStore, DocumentValue } from '@mlops/kernel';

/** Collection of the per-date status in the document store. */
export const DATA_HEALTH_COLLECTION = 'trainer_data_health';

interface DateStatus {
  runDate: string;
  status: 'failed' | 'ready';
  code: string | null;
  eventId: string;
  eventTime: string;
}

/** Record the status of run dates from an event (kept only when newer than what is recorded). */
export async function recordDateStatus(
  documents: DocumentStore,
  runDates: readonly string[],
  status: DateStatus['status'],
  event: { id: string; time: string },
  code: string | null = null,
): Promise<number> {
  const updates: { id: string; data: Record<string, DocumentValue> }[] = [];
  for (const runDate of new Set(runDates)) {
    const existing = (await documents.get(DATA_HEALTH_COLLECTION, runDate))?.data as DateStatus | undefined;
    if (existing && existing.eventTime > event.time) continue;
    if (existing === undefined && status === 'ready') continue;
    const data: DateStatus = { runDate, status, code, eventId: event.id, eventTime: event.time };
    updates.push({ id: runDate, data: data as unknown as Record<string, DocumentValue> });
  }
  if (updates.length > 0) await documents.upsertBatch(DATA_HEALTH_COLLECTION, updates);
  return updates.length;
}

/** Run dates whose latest status is failed, sorted. */
export async function failedRunDates(documents: DocumentStore): Promise<string[]> {
  const out: string[] = [];
  for await (const document of documents.query(DATA_HEALTH_COLLECTION, {
    where: [{ field: 'status', op: '==', value: 'failed' }],
  }))
    out.push(String(document.data.runDate));
  return out.sort();
}
