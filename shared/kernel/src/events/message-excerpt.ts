import { createHash } from 'node:crypto';
import { messageSize, type WireMessage } from './message-codec.js';

/** Bytes of an oversized message's data a dead letter keeps. */
export const EXCERPT_BYTES = 4096;
/** Largest attribute value an excerpt keeps (Pub/Sub's own limit). */
const ATTRIBUTE_VALUE_BYTES = 1024;
/** Attribute bytes (keys and values) an excerpt keeps in all. */
const ATTRIBUTE_BUDGET_BYTES = 8192;

/** Attributes that mark an excerpt; they survive redrive and listing. */
export const EXCERPT_ATTRIBUTES = {
  size: 'x-excerpt-of-bytes',
  sha256: 'x-excerpt-of-sha256',
} as const;

/** What an excerpt stands for: the size of the whole message and the SHA-256 of its data. */
export interface ExcerptInfo {
  bytes: number;
  sha256: string;
}

function cutUtf8(text: string, bytes: number): string {
  if (Buffer.byteLength(text) <= bytes) return text;
  let cut = Buffer.from(text).subarray(0, bytes).toString('utf8');
  while (cut.endsWith('\uFFFD')) cut = cut.slice(0, -1);
  return cut;
}

/**
 * The form in which a dead letter keeps a message: whole when it is within `maxBytes`, otherwise an
 * excerpt (the first {@link EXCERPT_BYTES} bytes of data, attribute values cut to 1 KiB within an
 * 8 KiB budget) marked with the whole message's size and its data's SHA-256. So a hostile or broken
 * publisher cannot make the dead-letter store grow by more than a few KiB per message.
 */
export function deadLetterForm(message: WireMessage, maxBytes: number): WireMessage {
  const size = messageSize(message);
  if (size <= maxBytes) return message;
  const attributes: Record<string, string> = {};
  let budget = ATTRIBUTE_BUDGET_BYTES;
  for (const [key, value] of Object.entries(message.attributes)) {
    if (Buffer.byteLength(key) > 256) continue;
    const kept = cutUtf8(value, ATTRIBUTE_VALUE_BYTES);
    const cost = Buffer.byteLength(key) + Buffer.byteLength(kept);
    if (cost > budget) continue;
    budget -= cost;
    attributes[key] = kept;
  }
  attributes[EXCERPT_ATTRIBUTES.size] = String(size);
  attributes[EXCERPT_ATTRIBUTES.sha256] = createHash('sha256').update(message.data).digest('hex');
  return { data: Buffer.from(message.data.subarray(0, EXCERPT_BYTES)), attributes };
}

/** The size and hash of the whole message when this one is a dead letter's excerpt of it. */
export function excerptInfo(message: WireMessage): ExcerptInfo | undefined {
  const bytes = message.attributes[EXCERPT_ATTRIBUTES.size];
  const sha256 = message.attributes[EXCERPT_ATTRIBUTES.sha256];
  if (bytes === undefined || sha256 === undefined) return undefined;
  return { bytes: Number(bytes), sha256 };
}
