import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { SharedErrors } from '../errors.js';
import { schemaDocuments } from '../contracts/schemas.generated.js';
import type { AnyEvent } from './cloud-event.js';
import { CAUSATION_EXTENSIONS, REQUIRED_EXTENSIONS, traceparentFromId } from './cloud-event.js';
import { eventCatalog, eventTypes, isEventType, type EventType } from './event-catalog.js';

// ajv-formats is CommonJS; under NodeNext its default export arrives wrapped.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ??
  addFormatsModule) as unknown as (ajv: Ajv2020, options?: { mode?: 'fast' | 'full' }) => Ajv2020;

let ajv: Ajv2020 | undefined;
const compiled = new Map<string, ValidateFunction>();

/** Remembers the strings a format validator accepted (bounded): run dates repeat from event to event. */
function remembering(validate: (value: string) => boolean): (value: string) => boolean {
  const accepted = new Set<string>();
  return (value) => {
    if (accepted.has(value)) return true;
    if (!validate(value)) return false;
    if (accepted.size >= 4096) accepted.clear();
    accepted.add(value);
    return true;
  };
}

function engine(): Ajv2020 {
  if (!ajv) {
    ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
    addFormats(ajv, { mode: 'full' });
    // The full `date` check (a regular expression with captures, then the calendar) runs once per distinct value.
    const date = ajv.formats.date;
    if (
      date !== undefined &&
      typeof date === 'object' &&
      !(date instanceof RegExp) &&
      typeof date.validate === 'function'
    )
      ajv.addFormat('date', { ...date, validate: remembering(date.validate as (value: string) => boolean) } as never);
    for (const schema of Object.values(schemaDocuments)) ajv.addSchema(schema as object);
  }
  return ajv;
}

function validatorFor(schemaId: string): ValidateFunction {
  let validate = compiled.get(schemaId);
  if (!validate) {
    validate = engine().getSchema(schemaId);
    if (!validate) throw new Error(`no schema registered with $id ${schemaId}`);
    compiled.set(schemaId, validate);
  }
  return validate;
}

/** Human-readable list of schema problems, e.g. `/runDate must match format "date"`. */
export function describeProblems(errors: readonly ErrorObject[] | null | undefined): string {
  if (!errors || errors.length === 0) return 'unknown problem';
  return errors
    .slice(0, 8)
    .map((error) => {
      const where = error.instancePath || '(root)';
      if (error.keyword === 'additionalProperties')
        return `${where} has unexpected property "${String(error.params.additionalProperty)}"`;
      return `${where} ${error.message ?? 'is invalid'}`;
    })
    .join('; ');
}

/** Problems of a payload against the schema of an event type; empty when valid. */
export function dataProblems(type: EventType, data: unknown): string | undefined {
  const validate = validatorFor(eventCatalog[type].schemaId);
  return validate(data) ? undefined : describeProblems(validate.errors);
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** Problems of the optional causation extensions: absent is fine, present must be well formed. */
function causationProblems(event: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const name of CAUSATION_EXTENSIONS) {
    const value = event[name];
    if (value !== undefined && (typeof value !== 'string' || value.length === 0))
      problems.push(`extension ${name} must be a non-empty string when present`);
  }
  const start = event.handlingstart;
  if (typeof start === 'string' && start.length > 0 && (!RFC3339.test(start) || Number.isNaN(Date.parse(start))))
    problems.push('extension handlingstart must be an RFC 3339 timestamp');
  return problems;
}

/** Whether a string is a real calendar date written YYYY-MM-DD. */
export function isIsoDate(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  if (knownDates.has(value)) return true;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const date = new Date(`${value}T00:00:00Z`);
  if (Number.isNaN(date.getTime()) || !date.toISOString().startsWith(value)) return false;
  // Every event carries a run date and runs share a few: remember them (bounded) to skip the Date.
  if (knownDates.size >= 4096) knownDates.clear();
  knownDates.add(value);
  return true;
}

const knownDates = new Set<string>();

/**
 * Whether a string is an RFC 3339 timestamp. The ones accepted lately are remembered (bounded): an
 * event's time is checked on publish and again on receipt, and a burst shares a few.
 */
function isTimestamp(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  if (knownTimes.has(value)) return true;
  if (!RFC3339.test(value) || Number.isNaN(Date.parse(value))) return false;
  if (knownTimes.size >= 4096) knownTimes.clear();
  knownTimes.add(value);
  return true;
}

const knownTimes = new Set<string>();

/** Options of {@link validateEvent}. */
export interface ValidateOptions {
  /** The candidate is the caller's own object: complete it in place instead of returning a copy. */
  inPlace?: boolean;
  /**
   * The result is only read (encoded at once, say): the candidate itself is returned when it is
   * already complete (`datacontenttype`, `dataschema` and `traceparent` as a copy would have them),
   * a copy otherwise. The candidate is never changed.
   */
  readOnly?: boolean;
}

// validateEvent checks the required extensions by name: a new one must be added there too.
if (REQUIRED_EXTENSIONS.join(',') !== 'runid,rundate')
  throw new Error(
    `validateEvent checks runid and rundate, the required extensions are ${REQUIRED_EXTENSIONS.join(', ')}`,
  );

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

/** The problems found so far with one more (the list is allocated only once something is wrong). */
function withProblem(problems: string[] | undefined, text: string): string[] {
  if (problems === undefined) return [text];
  problems.push(text);
  return problems;
}

/**
 * Validate a whole envelope and its payload. Returns the event typed by its `type`, or throws a
 * permanent error naming what is wrong (unknown type, missing extension, schema violation, ...).
 */
export function validateEvent(candidate: unknown, options?: ValidateOptions): AnyEvent {
  if (candidate === null || typeof candidate !== 'object' || Array.isArray(candidate)) {
    throw SharedErrors.envelopeInvalid('the event is not a JSON object');
  }
  const event = candidate as Record<string, unknown>;
  // Allocated only when something is wrong (most events are valid).
  let problems: string[] | undefined;
  if (event.specversion !== '1.0')
    problems = withProblem(problems, `specversion must be "1.0" (got ${JSON.stringify(event.specversion)})`);
  // Each field by name (a property load the engine caches by shape; a loop over the names is a keyed load by string).
  if (!isNonEmptyString(event.id)) problems = withProblem(problems, 'id is missing');
  if (!isNonEmptyString(event.source)) problems = withProblem(problems, 'source is missing');
  if (!isNonEmptyString(event.type)) problems = withProblem(problems, 'type is missing');
  if (!isTimestamp(event.time)) {
    problems = withProblem(problems, 'time must be an RFC 3339 timestamp');
  }
  // The required extensions (REQUIRED_EXTENSIONS), by name.
  if (!isNonEmptyString(event.runid)) problems = withProblem(problems, 'extension runid is missing');
  if (!isNonEmptyString(event.rundate)) problems = withProblem(problems, 'extension rundate is missing');
  if (typeof event.rundate === 'string' && event.rundate.length > 0 && !isIsoDate(event.rundate)) {
    problems = withProblem(problems, `extension rundate "${event.rundate}" is not a date (YYYY-MM-DD)`);
  }
  if (typeof event.traceparent === 'string' && event.traceparent.length > 0 && !isTraceparentShape(event.traceparent)) {
    problems = withProblem(problems, 'extension traceparent is not W3C trace context (00-<32 hex>-<16 hex>-<2 hex>)');
  }
  if (event.traceparent !== undefined && typeof event.traceparent !== 'string')
    problems = withProblem(problems, 'extension traceparent must be a string');
  if (event.causationid !== undefined || event.handlingstart !== undefined)
    for (const text of causationProblems(event)) problems = withProblem(problems, text);
  if (event.datacontenttype !== undefined && !isJsonMediaType(event.datacontenttype)) {
    problems = withProblem(
      problems,
      `datacontenttype must be application/json (got ${JSON.stringify(event.datacontenttype)})`,
    );
  }
  if (problems !== undefined) throw SharedErrors.envelopeInvalid(problems.join('; '));
  const type = event.type as string;
  if (!isEventType(type)) throw SharedErrors.unknownType(type, eventTypes);
  const dataProblem = dataProblems(type, event.data);
  if (dataProblem) throw SharedErrors.schemaViolation(type, dataProblem);
  const dataschema = typeof event.dataschema === 'string' ? event.dataschema : eventCatalog[type].schemaId;
  // Trace context is optional on the wire: an event without it starts a trace of its own.
  const traceparent =
    typeof event.traceparent === 'string' && event.traceparent.length > 0
      ? event.traceparent
      : traceparentFromId(event.id as string);
  if (options?.inPlace) {
    event.datacontenttype = 'application/json';
    event.dataschema = dataschema;
    event.traceparent = traceparent;
    return event as unknown as AnyEvent;
  }
  if (
    options?.readOnly &&
    event.datacontenttype === 'application/json' &&
    event.dataschema === dataschema &&
    event.traceparent === traceparent
  )
    return event as unknown as AnyEvent;
  return { ...event, datacontenttype: 'application/json', dataschema, traceparent } as AnyEvent;
}

/** What {@link isTraceparent} accepts, `00-<32 hex>-<16 hex>-<2 hex>` in lower case, without a regular expression. */
function isTraceparentShape(value: string): boolean {
  if (value.length !== 55 || value.charCodeAt(0) !== 48 || value.charCodeAt(1) !== 48) return false;
  for (let i = 2; i < 55; i += 1) {
    const code = value.charCodeAt(i);
    if (i === 2 || i === 35 || i === 52) {
      if (code !== 45) return false;
    } else if (!((code >= 48 && code <= 57) || (code >= 97 && code <= 102))) return false;
  }
  return true;
}

/** Whether a media type is JSON (`application/json`, any case, parameters such as a charset allowed). */
export function isJsonMediaType(value: unknown): boolean {
  if (value === 'application/json') return true;
  return typeof value === 'string' && /^application\/json\s*(;.*)?$/i.test(value.trim());
}

/** The bronze record kinds that have a schema in schemas/records/. */
export type RecordKind = 'sales-order' | 'click-event' | 'startup-company';

/** Problems of a bronze record against its schema; undefined when the record is clean. */
export function recordProblems(kind: RecordKind, record: unknown): string | undefined {
  const validate = validatorFor(`https://mlops-platform.dev/schemas/records/${kind}.v1.json`);
  return validate(record) ? undefined : describeProblems(validate.errors);
}
