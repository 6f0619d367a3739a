import { generateSalesOrders, sourceNotRequested, startedGeneration, type GeneratorSettings } from '@mlops/synthetic';
import { type CloudEvent, type DocumentStore, type HandlerContext, type StoredDocument } from '@mlops/kernel';
import { SalesGenErrors } from './errors.js';

/** What the sales generator needs. */
export interface SalesGenDeps {
  readonly documents: DocumentStore;
  /** Collection of the orders (`documents.salesCollection` of the configuration). */
  readonly collection: string;
  readonly generators: GeneratorSettings;
  /** Documents per write (Firestore accepts at most 500 per batch). */
  readonly batchSize: number;
}

/**
 * Write the run date's orders to the document store and announce them. Document ids are the order
 * ids, so a re-run replaces the same documents; afterwards any document of that run date that is
 * no longer generated (a re-run at another scale or seed) is deleted, so the collection holds
 * exactly one copy of the day. New documents are written before stale ones are removed, so a
 * reader never finds the day empty.
 */
export async function generateSalesDay(
  deps: SalesGenDeps,
  event: CloudEvent<'mlops.pipeline.started.v1'>,
  context: HandlerContext,
): Promise<void> {
  const { data } = event;
  const generation = startedGeneration(data, 'sales', deps.generators, SalesGenErrors, context.log);
  if (!generation) {
    await context.emit(
      'mlops.stage.skipped.v1',
      sourceNotRequested('sales-gen', 'SALES_GEN.NOT_REQUESTED', 'sales', event),
      {
        subject: `skipped/sales/${data.runDate}`,
      },
    );
    return;
  }

  const started = performance.now();
  const ids = new Set<string>();
  let batch: StoredDocument[] = [];
  let dirtyCount = 0;
  const ownOfDay = new Set<string>();
  for (const record of generateSalesOrders({
    ...generation,
    date: data.runDate,
    piiHmacKey: deps.generators.piiHmacKey,
  })) {
    ids.add(record.id);
    // The last write of an id wins, so its last version says whether it is stored under the day.
    if ((record.data as { run_date?: unknown }).run_date === data.runDate) ownOfDay.add(record.id);
    else ownOfDay.delete(record.id);
    if (record.dirty) dirtyCount += 1;
    batch.push({ id: record.id, data: record.data });
    if (batch.length >= deps.batchSize) {
      await deps.documents.upsertBatch(deps.collection, batch);
      batch = [];
    }
  }
  if (batch.length > 0) await deps.documents.upsertBatch(deps.collection, batch);

  let stale: string[] = [];
  let removed = 0;
  const ofDay = { where: [{ field: 'run_date', op: '==' as const, value: data.runDate }] };
  // Every generated document of the day is stored now: when the day holds no more than those, nothing
  // is stale and its documents need not be read back (the usual case, a first run).
  const clean = (await deps.documents.count(deps.collection, ofDay)) === ownOfDay.size;
  // Only ids are compared: the stored text is never parsed.
  for await (const page of clean ? [] : deps.documents.queryJson(deps.collection, { ...ofDay, pageSize: 1000 })) {
    for (const document of page) {
      if (ids.has(document.id)) continue;
      stale.push(document.id);
      if (stale.length >= deps.batchSize) {
        removed += await deps.documents.deleteMany(deps.collection, stale);
        stale = [];
      }
    }
  }
  if (stale.length > 0) removed += await deps.documents.deleteMany(deps.collection, stale);

  context.log.info(`generated ${ids.size} sales documents for ${data.runDate}`, {
    runDate: data.runDate,
    documents: ids.size,
    dirty: dirtyCount,
    staleRemoved: removed,
    scale: generation.scale,
    seed: generation.seed,
    durationMs: Math.round(performance.now() - started),
  });
  await context.emit(
    'mlops.sales.generated.v1',
    {
      runDate: data.runDate,
      collection: deps.collection,
      documentCount: ids.size,
      dirtyCount,
      scale: generation.scale,
      seed: generation.seed,
      ...(data.backfill ? { backfill: data.backfill } : {}),
    },
    { subject: `sales/${data.runDate}` },
  );
}
