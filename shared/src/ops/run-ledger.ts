import type { AnyEvent } from '../events/cloud-event.js';
import type { EventType } from '../events/event-catalog.js';
import { eventTypes } from '../events/event-catalog.js';
import type { DocumentStore, DocumentValue } from '../ports/document-store.port.js';
import type { Service } from '../runtime/service.js';

/** Collection of the run ledger in the document store. */
export const RUN_LEDGER_COLLECTION = 'run_events';

/** One event as the run ledger keeps it: the envelope and a small, PII-free summary of the payload. */
export interface LedgerEntry {
  eventId: string;
  type: EventType;
  runId: string;
  runDate: string;
  time: string;
  stage: string;
  subject: string | null;
  summary: Record<string, DocumentValue>;
}

/** A stage of one run: when its input arrived, when it answered, and how. */
export interface RunStage {
  stage: string;
  startedAt: string;
  finishedAt: string | null;
  durationMs: number | null;
  status: 'running' | 'succeeded' | 'failed';
  detail: string | null;
}

/** One run (a runid): its dates, stages and outcome. */
export interface RunSummary {
  runId: string;
  runDate: string;
  trigger: string | null;
  startedAt: string;
  lastEventAt: string;
  status: 'running' | 'succeeded' | 'failed';
  events: number;
  stages: RunStage[];
}

// Which stage consumes each event type, and what it emits when done.
const CONSUMER: Partial<Record<EventType, string>> = {
  'mlops.pipeline.started.v1': 'generate',
  'mlops.sales.generated.v1': 'lander',
  'mlops.bronze.landed.v1': 'transformer',
  'mlops.warehouse.ready.v1': 'trainer',
};

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

/**
 * The run ledger: every event of every run, kept by event id (so redelivery is harmless), and the
 * runs and stage timings derived from them. It feeds `mlops status` and the operations view.
 */
export class RunLedger {
  constructor(private readonly documents: DocumentStore) {}

  /** Record an event (idempotent by event id). */
  async record(event: AnyEvent): Promise<void> {
    const entry: LedgerEntry = {
      eventId: event.id,
      type: event.type,
      runId: event.runid,
      runDate: event.rundate,
      time: event.time,
      stage: stageOf(event.source),
      subject: event.subject ?? null,
      summary: summarise(event),
    };
    await this.documents.upsertBatch(RUN_LEDGER_COLLECTION, [
      { id: event.id, data: entry as unknown as Record<string, DocumentValue> },
    ]);
  }

  /** Every entry, or a run's entries, oldest first. */
  async entries(filter: { runId?: string } = {}): Promise<LedgerEntry[]> {
    const out: LedgerEntry[] = [];
    const where = filter.runId ? [{ field: 'runId', op: '==' as const, value: filter.runId }] : [];
    for await (const document of this.documents.query(RUN_LEDGER_COLLECTION, { where, pageSize: 2000 }))
      out.push(document.data as unknown as LedgerEntry);
    return out.sort((a, b) => a.time.localeCompare(b.time) || a.eventId.localeCompare(b.eventId));
  }

  /** Runs, newest first, with their stages and timings. */
  async runs(options: { limit?: number } = {}): Promise<RunSummary[]> {
    const byRun = new Map<string, LedgerEntry[]>();
    for (const entry of await this.entries()) {
      const list = byRun.get(entry.runId) ?? [];
      list.push(entry);
      byRun.set(entry.runId, list);
    }
    const runs = [...byRun.values()].map(summariseRun);
    runs.sort((a, b) => b.startedAt.localeCompare(a.startedAt));
    return runs.slice(0, options.limit ?? runs.length);
  }
}

/** Derive a run's stages from its events: each stage runs from its input event to its output. */
export function summariseRun(entries: readonly LedgerEntry[]): RunSummary {
  const sorted = [...entries].sort((a, b) => a.time.localeCompare(b.time));
  const first = sorted[0]!;
  const stages = new Map<string, RunStage>();
  const open = (stage: string, at: string) => {
    if (!stages.has(stage))
      stages.set(stage, { stage, startedAt: at, finishedAt: null, durationMs: null, status: 'running', detail: null });
  };
  const close = (stage: string, at: string, status: 'succeeded' | 'failed', detail: string | null) => {
    const current = stages.get(stage) ?? {
      stage,
      startedAt: at,
      finishedAt: null,
      durationMs: null,
      status: 'running' as const,
      detail: null,
    };
    current.finishedAt = current.finishedAt && current.finishedAt > at ? current.finishedAt : at;
    current.durationMs = Date.parse(current.finishedAt) - Date.parse(current.startedAt);
    if (current.status !== 'failed') current.status = status;
    current.detail = detail ?? current.detail;
    stages.set(stage, current);
  };
  for (const entry of sorted) {
    const consumer = CONSUMER[entry.type];
    if (entry.type === 'mlops.stage.failed.v1') {
      close(
        String(entry.summary.stage ?? entry.stage),
        entry.time,
        'failed',
        `${String(entry.summary.code)}: ${String(entry.summary.reason)}`,
      );
      continue;
    }
    if (entry.type !== 'mlops.pipeline.started.v1') {
      const producer = entry.stage;
      const detail =
        entry.summary.rowCount !== undefined
          ? `${String(entry.summary.rowCount)} rows`
          : entry.summary.version !== undefined
            ? String(entry.summary.version)
            : null;
      close(producer, entry.time, 'succeeded', detail);
    }
    if (consumer === 'generate') for (const stage of ['sales-gen', 'click-gen', 'startup-gen']) open(stage, entry.time);
    else if (consumer) open(consumer, entry.time);
  }
  // Generators that had nothing to do (startups on most days) leave no event: not running forever.
  const lastAt = sorted[sorted.length - 1]!.time;
  for (const stage of stages.values()) {
    if (
      stage.status === 'running' &&
      stage.stage === 'startup-gen' &&
      sorted.some((e) => e.stage === 'transformer' || e.stage === 'trainer')
    ) {
      stage.status = 'succeeded';
      stage.detail = 'nothing due';
    }
  }
  const failed = [...stages.values()].some((stage) => stage.status === 'failed');
  const done = sorted.some((entry) => entry.type === 'mlops.predictions.ready.v1');
  return {
    runId: first.runId,
    runDate: first.runDate,
    trigger: typeof first.summary.trigger === 'string' ? first.summary.trigger : null,
    startedAt: first.time,
    lastEventAt: lastAt,
    status: failed ? 'failed' : done ? 'succeeded' : 'running',
    events: sorted.length,
    stages: [...stages.values()],
  };
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
