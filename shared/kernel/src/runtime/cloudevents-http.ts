import type { IncomingHttpHeaders } from 'node:http';
import { isEventType, topicOf } from '../events/event-catalog.js';
import { PUBSUB_MESSAGE_PUBLISHED, type IncomingCloudEvent } from './eventarc.js';

/** Why a request is not a CloudEvent this transport reads; the HTTP layer answers `status`. */
export class HttpRequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;.*)?$/i;
const STRUCTURED = /^application\/cloudevents\+json\s*(?:;.*)?$/i;
const BATCH = /^application\/cloudevents-batch\+json\s*(?:;.*)?$/i;

function parseJson(body: Buffer): unknown {
  if (body.byteLength === 0) return undefined;
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch (error) {
    throw new HttpRequestError(400, 'HTTP.INVALID_JSON', `the request body is not JSON: ${(error as Error).message}`);
  }
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Read a CloudEvent from an HTTP request with the CloudEvents HTTP binding: structured mode
 * (`Content-Type: application/cloudevents+json`, the event in the body), binary mode (`ce-`
 * headers, the data in the body), or a plain Pub/Sub push body (`{"message": ...}`) as a push
 * subscription without Eventarc sends it, read as a `messagePublished` event. Only JSON data is
 * carried; anything else is refused with the status to answer.
 */
export function readCloudEvent(headers: IncomingHttpHeaders, body: Buffer): IncomingCloudEvent {
  const contentType = header(headers, 'content-type') ?? '';
  if (BATCH.test(contentType))
    throw new HttpRequestError(415, 'HTTP.UNSUPPORTED_MEDIA_TYPE', 'batched CloudEvents are not accepted');
  if (STRUCTURED.test(contentType)) {
    const event = parseJson(body);
    if (event === null || typeof event !== 'object' || Array.isArray(event))
      throw new HttpRequestError(400, 'HTTP.NOT_A_CLOUDEVENT', 'a structured-mode CloudEvent must be a JSON object');
    const traceparent = header(headers, 'traceparent');
    return { ...(traceparent ? { traceparent } : {}), ...(event as IncomingCloudEvent) };
  }
  if (contentType !== '' && !JSON_TYPE.test(contentType))
    throw new HttpRequestError(
      415,
      'HTTP.UNSUPPORTED_MEDIA_TYPE',
      `content type "${contentType.slice(0, 100)}" is not JSON; events carry JSON data`,
    );
  const data = parseJson(body);
  if (header(headers, 'ce-specversion') !== undefined) {
    const event: IncomingCloudEvent = { data };
    for (const [name, value] of Object.entries(headers)) {
      if (!name.startsWith('ce-') || value === undefined) continue;
      event[name.slice(3)] = Array.isArray(value) ? value[0] : value;
    }
    const traceparent = header(headers, 'traceparent');
    if (traceparent && event.traceparent === undefined) event.traceparent = traceparent;
    return event;
  }
  const push = data as { message?: { attributes?: Record<string, unknown> } } | undefined;
  if (push !== null && typeof push === 'object' && typeof push.message === 'object' && push.message !== null) {
    // A Pub/Sub push subscription without Eventarc: the topic is the one of the type it claims.
    const claimed = push.message.attributes?.['ce-type'];
    const topic = typeof claimed === 'string' && isEventType(claimed) ? topicOf(claimed) : 'unknown';
    return { type: PUBSUB_MESSAGE_PUBLISHED, source: `//pubsub.googleapis.com/projects/_/topics/${topic}`, data };
  }
  throw new HttpRequestError(
    400,
    'HTTP.NOT_A_CLOUDEVENT',
    'the request is not a CloudEvent: no ce- headers, no application/cloudevents+json body, no Pub/Sub push body',
  );
}
