import { createHash, randomUUID } from 'node:crypto';
import type { EventDataMap, EventType } from './event-catalog.js';
import { eventCatalog } from './event-catalog.js';

/**
 * A CloudEvents 1.0 envelope with the platform's extensions. `runid`, `rundate` and `traceparent`
 * follow one run through every stage and log line.
 */
export interface CloudEvent<K extends EventType = EventType> {
  specversion: '1.0';
  /** Unique per event; follow-up events derive theirs from the cause, so a re-run emits the same ids. */
  id: string;
  /** URI-reference of the producer, `//mlops/<stage>`. */
  source: string;
  type: K;
  /** RFC 3339 time the event happened. */
  time: string;
  /** What the event is about, e.g. `sales/2026-01-31`. */
  subject?: string;
  datacontenttype: 'application/json';
  dataschema: string;
  /** Run identifier shared by every event of one run. */
  runid: string;
  /** The run date (YYYY-MM-DD) the run is for. */
  rundate: string;
  /**
   * W3C trace context of the run, `00-<trace-id>-<span-id>-01`. Optional on the wire (the CloudEvents
   * distributed-tracing extension); an event received without one starts a new trace.
   */
  traceparent: string;
  /** Id of the event whose handling emitted this one (absent on start events and from other publishers). */
  causationid?: string;
  /** RFC 3339 time the emitting service began handling the cause: handling and queue wait apart. */
  handlingstart?: string;
  data: EventDataMap[K];
}

/** Any event of the catalogue, discriminated by `type`. */
export type AnyEvent = { [K in EventType]: CloudEvent<K> }[EventType];

/** The extension attributes the platform requires on every event (`traceparent` is optional). */
export const REQUIRED_EXTENSIONS = ['runid', 'rundate'] as const;

/** Extension attributes a follow-up event carries when the runtime emits it; optional everywhere. */
export const CAUSATION_EXTENSIONS = ['causationid', 'handlingstart'] as const;

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** A fresh W3C traceparent for a new run. */
export function newTraceparent(): string {
  // randomUUID draws from a pooled entropy buffer: far cheaper per call than randomBytes.
  const trace = randomUUID().replaceAll('-', '');
  const span = randomUUID().replaceAll('-', '').slice(0, 16);
  return `00-${trace}-${span}-01`;
}

/**
 * The trace an event without trace context starts: derived from its id, so every delivery of the
 * same event logs under the same trace.
 */
export function traceparentFromId(id: string): string {
  const hex = createHash('sha256').update(`trace\u0000${id}`).digest('hex');
  return `00-${hex.slice(0, 32)}-${hex.slice(32, 48)}-01`;
}

/** The trace id and span id of a traceparent, or undefined when malformed. */
export function parseTraceparent(
  traceparent: string,
): { traceId: string; spanId: string; sampled: boolean } | undefined {
  const match = TRACEPARENT.exec(traceparent);
  if (!match) return undefined;
  return { traceId: match[1]!, spanId: match[2]!, sampled: match[3] === '01' };
}

/** The same trace with a child span, derived deterministically from a seed (the child event id). */
export function childTraceparent(parent: string, seed: string): string {
  const parsed = parseTraceparent(parent);
  const spanId = createHash('sha256').update(seed).digest('hex').slice(0, 16);
  return parsed ? `00-${parsed.traceId}-${spanId}-01` : newTraceparent();
}

/** A new run id: readable, sortable by start time, unique. */
export function newRunId(runDate: string, now: Date = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:.TZ]/g, '')
    .slice(0, 14);
  return `run_${runDate.replaceAll('-', '')}_${stamp}_${randomUUID().slice(0, 6)}`;
}

/** Deterministic UUID-shaped id from parts (a follow-up event of the same cause gets the same id). */
export function deterministicId(...parts: string[]): string {
  const hex = createHash('sha256').update(parts.join('\u0000')).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${((parseInt(hex.slice(16, 18), 16) & 0x3f) | 0x80).toString(16)}${hex.slice(18, 20)}-${hex.slice(20, 32)}`;
}

/** Options of {@link createEvent}. */
export interface CreateEventOptions {
  source: string;
  runid: string;
  rundate: string;
  traceparent?: string;
  subject?: string;
  id?: string;
  time?: Date;
}

/** Build an envelope around a payload. Validation happens when it is published. */
export function createEvent<K extends EventType>(
  type: K,
  data: EventDataMap[K],
  options: CreateEventOptions,
): CloudEvent<K> {
  const event: CloudEvent<K> = {
    specversion: '1.0',
    id: options.id ?? randomUUID(),
    source: options.source,
    type,
    time: (options.time ?? new Date()).toISOString(),
    datacontenttype: 'application/json',
    dataschema: eventCatalog[type].schemaId,
    runid: options.runid,
    rundate: options.rundate,
    traceparent: options.traceparent ?? newTraceparent(),
    data,
  };
  if (options.subject !== undefined) event.subject = options.subject;
  return event;
}

/**
 * A follow-up event caused by `cause`: same run, same run date, same trace (child span), and an id
 * derived from the cause, the type and the subject, so a handler that runs twice emits the same ids.
 */
export function followUp<K extends EventType>(
  cause: Pick<CloudEvent, 'id' | 'runid' | 'rundate' | 'traceparent'>,
  type: K,
  data: EventDataMap[K],
  options: { source: string; subject?: string; rundate?: string; time?: Date; handlingStart?: Date },
): CloudEvent<K> {
  const id = deterministicId(cause.id, type, options.subject ?? '');
  const event = createEvent(type, data, {
    source: options.source,
    runid: cause.runid,
    rundate: options.rundate ?? cause.rundate,
    traceparent: childTraceparent(cause.traceparent, id),
    id,
    ...(options.subject === undefined ? {} : { subject: options.subject }),
    ...(options.time === undefined ? {} : { time: options.time }),
  });
  event.causationid = cause.id;
  if (options.handlingStart !== undefined) event.handlingstart = options.handlingStart.toISOString();
  return event;
}
