import type { EventType } from '../events/event-catalog.js';
import type { DocumentValue } from '../ports/document-store.port.js';

/** One event as the run ledger keeps it: the envelope and a small, PII-free summary of the payload. */
export interface LedgerEntry {
  eventId: string;
  type: EventType;
  runId: string;
  runDate: string;
  /** When the event was first emitted (a replay that emits it again does not move it). */
  time: string;
  stage: string;
  subject: string | null;
  summary: Record<string, DocumentValue>;
  /** The event whose handling emitted this one (null for start events and other publishers). */
  causationId: string | null;
  /** When the emitting service began handling the cause, at the first emission. */
  handlingStart: string | null;
  /** The latest emission when the event was emitted again (a replay): its time and handling start. */
  latest: { time: string; handlingStart: string | null } | null;
  /** When the ledger last wrote this entry: the cursor of incremental reads. */
  recordedAt: string;
}
