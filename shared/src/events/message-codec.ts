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

/**
 * Encode an event for a message transport with the CloudEvents Pub/Sub protocol binding in binary
 * content mode: context attributes become `ce-` attributes, the payload is the message data.
 */
export function encodeMessage(event: AnyEvent): WireMessage {
  const attributes: Record<string, string> = { 'content-type': 'application/json' };
  for (const name of ENVELOPE_ATTRIBUTES) {
    const value = (event as unknown as Record<string, unknown>)[name];
    if (typeof value === 'string') attributes[`ce-${name}`] = value;
  }
  return { data: Buffer.from(JSON.stringify(event.data)), attributes };
}

/** Size a message occupies, counted like Pub/Sub does: data plus attribute keys and values. */
export function messageSize(message: WireMessage): number {
  let size = message.data.byteLength;
  for (const [key, value] of Object.entries(message.attributes))
    size += Buffer.byteLength(key) + Buffer.byteLength(value);
  return size;
}

/**
 * Decode and validate a transport message. Accepts binary content mode (`ce-` attributes) and
 * structured mode (`content-type: application/cloudevents+json`, the whole envelope in the data).
 * Throws a permanent error naming the problem: too large, not JSON, bad envelope, unknown type,
 * schema violation.
 */
export function decodeMessage(message: WireMessage, maxBytes: number = DEFAULT_MAX_MESSAGE_BYTES): AnyEvent {
  const size = messageSize(message);
  if (size > maxBytes) throw SharedErrors.tooLarge(size, maxBytes);
  const text = Buffer.from(message.data.buffer, message.data.byteOffset, message.data.byteLength).toString('utf8');
  let parsed: unknown;
  try {
    parsed = text.length === 0 ? undefined : JSON.parse(text);
  } catch (error) {
    throw SharedErrors.invalidJson((error as Error).message);
  }
  const contentType = message.attributes['content-type'] ?? message.attributes['ce-datacontenttype'] ?? '';
  if (contentType.startsWith('application/cloudevents+json')) return validateEvent(parsed);
  const envelope: Record<string, unknown> = { data: parsed };
  for (const name of ENVELOPE_ATTRIBUTES) {
    const value = message.attributes[`ce-${name}`];
    if (value !== undefined) envelope[name] = value;
  }
  envelope.datacontenttype = 'application/json';
  return validateEvent(envelope);
}

/** The event type a message claims to carry, even when it is invalid (for dead-letter listings). */
export function claimedType(message: WireMessage): string | undefined {
  return message.attributes['ce-type'];
}
