import type { AnyEvent } from '../events/cloud-event.js';
import { isEventType } from '../events/event-catalog.js';
import { validateEvent } from '../events/event-validator.js';
import { decodeMessage, type WireMessage } from '../events/message-codec.js';
import { PermanentError, classifyError, errorCode, errorMessage } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { EventBus } from '../ports/event-bus.port.js';
import { dispatch } from './service-host.js';
import type { Service } from './service.js';
import { subscriptionName } from './service.js';

/** The CloudEvent type Eventarc uses for a message published to a Pub/Sub topic. */
export const PUBSUB_MESSAGE_PUBLISHED = 'google.cloud.pubsub.topic.v1.messagePublished';

/** A CloudEvent as the functions framework hands it over (binary or structured HTTP mode). */
export interface IncomingCloudEvent {
  id?: string;
  type?: string;
  source?: string;
  subject?: string;
  time?: string;
  data?: unknown;
  [extension: string]: unknown;
}

interface PushBody {
  message?: {
    data?: string;
    attributes?: Record<string, string>;
    messageId?: string;
    message_id?: string;
    publishTime?: string;
  };
  subscription?: string;
  deliveryAttempt?: number;
}

/** What happened to one push delivery; the HTTP layer maps it to a status code. */
export type PushOutcome =
  | { status: 'handled' }
  | { status: 'dead-lettered'; code: string; reason: string }
  | { status: 'retry'; error: unknown };

function topicFromSource(source: string | undefined): string {
  // Eventarc: //pubsub.googleapis.com/projects/<p>/topics/<topic>
  const match = /\/topics\/([^/]+)$/.exec(source ?? '');
  return match?.[1] ?? 'unknown';
}

/**
 * Unwrap an Eventarc delivery and run it through a service. A Pub/Sub `messagePublished` event is
 * decoded with the same codec as every other transport, so the handler sees the same envelope.
 * Permanent failures (bad message, bad event, a handler's permanent error) are dead-lettered and
 * answered with success so Pub/Sub stops pushing; transient ones are answered with an error so it
 * pushes again with backoff, until `maxAttempts` is reached and the message is dead-lettered.
 */
export async function handlePushDelivery(
  service: Service,
  incoming: IncomingCloudEvent,
  deps: { bus: Pick<EventBus, 'publish' | 'deadLetter'>; log: Logger; maxAttempts: number; maxMessageBytes: number },
): Promise<PushOutcome> {
  const topic = incoming.type === PUBSUB_MESSAGE_PUBLISHED ? topicFromSource(incoming.source) : 'direct';
  const subscription = subscriptionName(service.name, topic);
  let message: WireMessage;
  let attempt = 1;
  let messageId = incoming.id ?? 'unknown';
  let publishedAt = new Date();
  let event: AnyEvent;
  try {
    if (incoming.type === PUBSUB_MESSAGE_PUBLISHED) {
      const body = (typeof incoming.data === 'string' ? JSON.parse(incoming.data) : incoming.data) as
        | PushBody
        | undefined;
      if (!body?.message)
        throw new PermanentError('EVENTARC.NO_MESSAGE', 'messagePublished event without a Pub/Sub message in its data');
      message = { data: Buffer.from(body.message.data ?? '', 'base64'), attributes: body.message.attributes ?? {} };
      attempt = Math.max(1, Number(body.deliveryAttempt ?? 1));
      messageId = body.message.messageId ?? body.message.message_id ?? messageId;
      if (body.message.publishTime) publishedAt = new Date(body.message.publishTime);
      event = decodeMessage(message, deps.maxMessageBytes);
    } else if (typeof incoming.type === 'string' && isEventType(incoming.type)) {
      // One of our own events delivered directly as an HTTP CloudEvent.
      message = { data: Buffer.from(JSON.stringify(incoming.data ?? null)), attributes: { 'ce-type': incoming.type } };
      event = validateEvent({ specversion: '1.0', ...incoming });
    } else {
      message = {
        data: Buffer.from(JSON.stringify(incoming.data ?? null)),
        attributes: { 'ce-type': String(incoming.type) },
      };
      throw new PermanentError(
        'EVENTARC.UNEXPECTED_TYPE',
        `cannot handle CloudEvent type "${String(incoming.type)}"; expected ${PUBSUB_MESSAGE_PUBLISHED}`,
      );
    }
  } catch (error) {
    const parsed =
      error instanceof SyntaxError
        ? new PermanentError('EVENT.INVALID_JSON', `push body is not JSON: ${error.message}`)
        : error;
    const fallback: WireMessage = { data: Buffer.from(JSON.stringify(incoming.data ?? null)), attributes: {} };
    return deadLetter(deps, subscription, topic, message! ?? fallback, parsed, attempt);
  }
  try {
    await dispatch(
      service,
      event,
      { messageId, subscription, attempt, publishedAt },
      deps.bus,
      deps.log,
      deps.maxAttempts,
    );
    return { status: 'handled' };
  } catch (error) {
    if (classifyError(error) === 'permanent' || attempt >= deps.maxAttempts)
      return deadLetter(deps, subscription, topic, message, error, attempt);
    return { status: 'retry', error };
  }
}

async function deadLetter(
  deps: { bus: Pick<EventBus, 'deadLetter'>; log: Logger },
  subscription: string,
  topic: string,
  message: WireMessage,
  error: unknown,
  attempts: number,
): Promise<PushOutcome> {
  const permanent = classifyError(error) === 'permanent';
  const code = permanent ? errorCode(error) : 'BUS.MAX_ATTEMPTS';
  const reason = permanent
    ? errorMessage(error)
    : `gave up after ${attempts} attempts: [${errorCode(error)}] ${errorMessage(error)}`;
  await deps.bus.deadLetter(message, { subscription, topic, code, reason, attempts });
  deps.log.error(`dead-lettered a message on ${subscription}: ${reason}`, { code, subscription });
  return { status: 'dead-lettered', code, reason };
}
