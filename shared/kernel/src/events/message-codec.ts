import { SharedErrors } from '../errors.js';
import { CAUSATION_EXTENSIONS, type AnyEvent } from './cloud-event.js';
import { validateEvent } from './event-validator.js';

/** A transport message: bytes plus string attributes (the shape of a Pub/Sub message). */
export interface WireMessage {
  data: Uint8Array;
  attributes: Record<string, string>;
}

/** The default largest message accepted (events are small; data lives in the lake). */
export const DEFAULT_MAX_MESSAGE_BYTES = 256 * 1024;

const ENVELOPE_ATTRIBUTES = [
  'specversion',
  'id',
  'source',
  'type',
  'time',
  'subject',
  'dataschema',
  'runid',
  'rundate',
  'traceparent',
  ...CAUSATION_EXTENSIONS,
] as const;
const ENVELOPE_NAMES: ReadonlySet<string> = new Set(ENVELOPE_ATTRIBUTES);
/** Each envelope attribute with its `ce-` attribute name, spelled once (no string built per message). */
const ENVELOPE_PAIRS: readonly (readonly [string, string])[] = ENVELOPE_ATTRIBUTES.map((name) => [name, `ce-${name}`]);
/** The envelope attribute of a `ce-` attribute name spelled in lower case. */
const ENVELOPE_BY_ATTRIBUTE: ReadonlyMap<string, string> = new Map(ENVELOPE_PAIRS.map(([name, key]) => [key, name]));
/** The media type of structured content mode, any case, parameters allowed. */
const STRUCTURED = /^\s*application\/cloudevents\+json\s*(;.*)?$/i;

/**
 * Encode an event for a message transport with the CloudEvents Pub/Sub protocol binding in binary
 * content mode: context attributes become `ce-` attributes, the payload is the message data.
 */
export function encodeMessage(event: AnyEvent): WireMessage {
  const fields = event as unknown as Record<string, unknown>;
  if (isUsualEnvelope(fields)) {
    // The usual event (no subject, no causation): one object literal, the names in the loop's order.
    const attributes: Record<string, string> = {
      'content-type': 'application/json',
      'ce-specversion': fields.specversion as string,
      'ce-id': fields.id as string,
      'ce-source': fields.source as string,
      'ce-type': fields.type as string,
      'ce-time': fields.time as string,
      'ce-dataschema': fields.dataschema as string,
      'ce-runid': fields.runid as string,
      'ce-rundate': fields.rundate as string,
      'ce-traceparent': fields.traceparent as string,
    };
    return { data: Buffer.from(JSON.stringify(event.data)), attributes };
  }
  const attributes: Record<string, string> = { 'content-type': 'application/json' };
  for (const [name, key] of ENVELOPE_PAIRS) {
    const value = fields[name];
    if (typeof value === 'string') attributes[key] = value;
  }
  return { data: Buffer.from(JSON.stringify(event.data)), attributes };
}

/** The attributes of the usual event in the order {@link encodeMessage} writes them. */
const USUAL_ATTRIBUTES = [
  'content-type',
  'ce-specversion',
  'ce-id',
  'ce-source',
  'ce-type',
  'ce-time',
  'ce-dataschema',
  'ce-runid',
  'ce-rundate',
  'ce-traceparent',
] as const;

/** Whether an event has every usual envelope attribute as a string and none of the optional ones. */
function isUsualEnvelope(fields: Record<string, unknown>): boolean {
  return (
    typeof fields.specversion === 'string' &&
    typeof fields.id === 'string' &&
    typeof fields.source === 'string' &&
    typeof fields.type === 'string' &&
    typeof fields.time === 'string' &&
    fields.subject === undefined &&
    typeof fields.dataschema === 'string' &&
    typeof fields.runid === 'string' &&
    typeof fields.rundate === 'string' &&
    typeof fields.traceparent === 'string' &&
    fields.causationid === undefined &&
    fields.handlingstart === undefined
  );
}

/** Whether a message's attributes are exactly the usual ones, in the usual order. */
function hasUsualAttributes(attributes: Record<string, string>): boolean {
  let index = 0;
  for (const key in attributes) {
    if (index === USUAL_ATTRIBUTES.length || key !== USUAL_ATTRIBUTES[index]) return false;
    index += 1;
  }
  return index === USUAL_ATTRIBUTES.length && attributes['content-type'] === 'application/json';
}

const NON_ASCII = /[\u0080-\uffff]/;

/** Size a message occupies, counted like Pub/Sub does: data plus attribute keys and values. */
export function messageSize(message: WireMessage): number {
  let size = message.data.byteLength;
  const attributes = message.attributes;
  for (const key in attributes) {
    if (!Object.hasOwn(attributes, key)) continue;
    const value = attributes[key]!;
    // An ASCII string has as many bytes as characters: no native call for the usual attribute.
    size += NON_ASCII.test(key) ? Buffer.byteLength(key) : key.length;
    size += typeof value === 'string' && !NON_ASCII.test(value) ? value.length : Buffer.byteLength(value);
  }
  return size;
}

/**
 * Whether a message is at most `maxBytes` as {@link messageSize} counts it. Exact; the usual small
 * message is settled by its character count alone (a UTF-16 unit is at most 3 bytes of UTF-8).
 */
export function messageFits(message: WireMessage, maxBytes: number): boolean {
  let units = 0;
  const attributes = message.attributes;
  for (const key in attributes) {
    if (!Object.hasOwn(attributes, key)) continue;
    units += key.length + attributes[key]!.length;
  }
  if (message.data.byteLength + 3 * units <= maxBytes) return true;
  return messageSize(message) <= maxBytes;
}

/**
 * An attribute by name, matched without regard to case (`Content-Type` and `content-type` alike):
 * publishers outside the project spell them as their tools do. An exact match wins.
 */
export function messageAttribute(message: WireMessage, name: string): string | undefined {
  const exact = message.attributes[name];
  if (exact !== undefined) return exact;
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(message.attributes)) if (key.toLowerCase() === wanted) return value;
  return undefined;
}

/** Whether a message is in structured content mode: the whole CloudEvent as JSON in the data. */
export function isStructuredMode(message: WireMessage): boolean {
  return STRUCTURED.test(messageAttribute(message, 'content-type') ?? '');
}

function dataText(message: WireMessage): string {
  const data = message.data;
  // A Buffer is read as it is; another Uint8Array through a view of its bytes (no copy either way).
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8');
}

/** Options of {@link decodeMessage}. */
export interface DecodeOptions {
  /** When the transport accepted the message: the event's `time` when the publisher gave none. */
  publishedAt?: Date;
}

/**
 * The `ce-` envelope attributes and the content type of a message, names matched in any case (an
 * exact lower-case name wins over another spelling), in one pass over the attributes.
 */
function readAttributes(message: WireMessage): { envelope: Record<string, unknown>; contentType: string } {
  const envelope: Record<string, unknown> = {};
  let contentType: string | undefined;
  for (const key in message.attributes) {
    // The usual spelling (lower case) is found without building a string.
    const known = ENVELOPE_BY_ATTRIBUTE.get(key);
    if (known !== undefined) {
      envelope[known] = message.attributes[key];
      continue;
    }
    if (key === 'content-type') {
      contentType = message.attributes[key];
      continue;
    }
    const lower = key.toLowerCase();
    const exact = lower === key;
    if (lower === 'content-type') {
      if (contentType === undefined || exact) contentType = message.attributes[key];
      continue;
    }
    if (!lower.startsWith('ce-')) continue;
    const name = lower.slice(3);
    if (ENVELOPE_NAMES.has(name) && (envelope[name] === undefined || exact)) envelope[name] = message.attributes[key];
  }
  return { envelope, contentType: contentType ?? '' };
}

/**
 * Decode and validate a transport message. Accepts binary content mode (`ce-` attributes) and
 * structured mode (`content-type: application/cloudevents+json`, the whole envelope in the data),
 * with attribute names and media types in any case. Throws a permanent error naming the problem:
 * too large, not JSON, bad envelope, unknown type, schema violation.
 */
export function decodeMessage(
  message: WireMessage,
  maxBytes: number = DEFAULT_MAX_MESSAGE_BYTES,
  options: DecodeOptions = {},
): AnyEvent {
  if (!messageFits(message, maxBytes)) throw SharedErrors.tooLarge(messageSize(message), maxBytes);
  const text = dataText(message);
  let parsed: unknown;
  try {
    parsed = text.length === 0 ? undefined : JSON.parse(text);
  } catch (error) {
    throw SharedErrors.invalidJson((error as Error).message);
  }
  const a = message.attributes;
  if (hasUsualAttributes(a)) {
    // Binary mode with the usual attributes in their usual order: the envelope the loop below would
    // build, keys in the same order, as one object literal.
    const envelope: Record<string, unknown> = {
      specversion: a['ce-specversion'],
      id: a['ce-id'],
      source: a['ce-source'],
      type: a['ce-type'],
      time: a['ce-time'],
      dataschema: a['ce-dataschema'],
      runid: a['ce-runid'],
      rundate: a['ce-rundate'],
      traceparent: a['ce-traceparent'],
      data: parsed,
      datacontenttype: 'application/json',
    };
    if (envelope.time === undefined && options.publishedAt) envelope.time = options.publishedAt.toISOString();
    return validateEvent(envelope, { inPlace: true });
  }
  const { envelope, contentType } = readAttributes(message);
  if (STRUCTURED.test(contentType)) {
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) && options.publishedAt) {
      const structured = parsed as Record<string, unknown>;
      if (structured.time === undefined)
        return validateEvent({ ...structured, time: options.publishedAt.toISOString() }, { inPlace: true });
    }
    // Parsed here from the bytes: this function's own object.
    return validateEvent(parsed, { inPlace: true });
  }
  envelope.data = parsed;
  if (envelope.time === undefined && options.publishedAt) envelope.time = options.publishedAt.toISOString();
  envelope.datacontenttype = 'application/json';
  // The envelope is this function's own object: completed in place, not copied.
  return validateEvent(envelope, { inPlace: true });
}

/** The event type a message claims to carry, even when it is invalid (for dead-letter listings). */
export function claimedType(message: WireMessage): string | undefined {
  return recoverEnvelope(message).type;
}

/** What can be read of a message's envelope without validating it (for dead letters of bad messages). */
export interface RecoveredEnvelope {
  id?: string;
  type?: string;
  runid?: string;
  rundate?: string;
  traceparent?: string;
}

/**
 * The envelope fields a message carries, valid or not: its `ce-` attributes, or the top-level
 * fields of a structured-mode event (only when the message is small enough to parse).
 */
export function recoverEnvelope(message: WireMessage, maxBytes: number = DEFAULT_MAX_MESSAGE_BYTES): RecoveredEnvelope {
  let source: (name: string) => unknown = (name) => messageAttribute(message, `ce-${name}`);
  if (isStructuredMode(message) && message.data.byteLength <= maxBytes) {
    try {
      const parsed = JSON.parse(dataText(message)) as unknown;
      if (parsed !== null && typeof parsed === 'object') source = (name) => (parsed as Record<string, unknown>)[name];
    } catch {
      // Not JSON: nothing to recover.
    }
  }
  const recovered: RecoveredEnvelope = {};
  for (const name of ['id', 'type', 'runid', 'rundate', 'traceparent'] as const) {
    const value = source(name);
    if (typeof value === 'string' && value.length > 0 && value.length <= 256) recovered[name] = value;
  }
  return recovered;
}
