import { isEventType, topicOf } from '../events/event-catalog.js';
import type { WireMessage } from '../events/message-codec.js';
import { PermanentError, errorCode, errorMessage } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { DeadLetterSink, Delivery, Publisher } from '../ports/event-bus.port.js';
import { reportDeadLetter } from './dead-letters.js';
import { runDelivery, type SettledDelivery } from './delivery.js';
import { dispatch } from './service-host.js';
import type { RawConsumer, Service } from './service.js';
import { subscriptionName } from './service.js';
import { settle } from './settlement.js';

/**
 * Attribute of a redriven message naming the one subscription it is meant for. A topic fans out to
 * every subscription, so the others acknowledge such a message without handling it. (A server-side
 * subscription filter would do this in Google Cloud, but the emulator accepts filters and ignores
 * them, and filters cannot be added to an existing subscription; the consumer check works for both.)
 */
export const REDRIVE_SUBSCRIPTION_ATTRIBUTE = 'x-redrive-subscription';

/** The CloudEvent type Eventarc uses for a message published to a Pub/Sub topic. */
export const PUBSUB_MESSAGE_PUBLISHED = 'google.cloud.pubsub.topic.v1.messagePublished';

/** A CloudEvent as the HTTP binding hands it over (binary or structured HTTP mode). */
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
  | { status: 'retry'; code: string; reason: string };

/** What a pushed delivery needs: where follow-ups and dead letters go, and the retry limits. */
export interface PushDeliveryDeps {
  bus: Publisher & DeadLetterSink;
  log: Logger;
  maxAttempts: number;
  maxMessageBytes: number;
}

function topicFromSource(source: string | undefined): string {
  // Eventarc: //pubsub.googleapis.com/projects/<p>/topics/<topic>
  const match = /\/topics\/([^/]+)$/.exec(source ?? '');
  return match?.[1] ?? 'unknown';
}

/** The Pub/Sub message inside a `messagePublished` event, as the transports' wire message. */
export function unwrapPush(incoming: IncomingCloudEvent): {
  message: WireMessage;
  delivery: Omit<Delivery, 'subscription'>;
} {
  let body: PushBody | undefined;
  try {
    body = (typeof incoming.data === 'string' ? JSON.parse(incoming.data) : incoming.data) as PushBody | undefined;
  } catch (error) {
    throw new PermanentError('EVENT.INVALID_JSON', `push body is not JSON: ${(error as Error).message}`);
  }
  if (!body?.message)
    throw new PermanentError('EVENTARC.NO_MESSAGE', 'messagePublished event without a Pub/Sub message in its data');
  const publishedAt = body.message.publishTime ? new Date(body.message.publishTime) : new Date();
  return {
    message: { data: Buffer.from(body.message.data ?? '', 'base64'), attributes: body.message.attributes ?? {} },
    delivery: {
      messageId: body.message.messageId ?? body.message.message_id ?? incoming.id ?? 'unknown',
      attempt: Math.max(1, Number(body.deliveryAttempt ?? 1) || 1),
      publishedAt: Number.isNaN(publishedAt.getTime()) ? new Date() : publishedAt,
    },
  };
}

/**
 * Unwrap an Eventarc delivery and run it through a service with the same receiving path as every
 * bus ({@link runDelivery}, then the one settlement rule). A Pub/Sub `messagePublished` event is
 * decoded with the same codec as the buses, so the handler sees the same envelope; one of the
 * platform's own events sent directly is read as a structured-mode message. Dead letters (a bad
 * message, a permanent error, the last attempt's transient error) are kept on the bus, logged and
 * announced, and answered with success so Pub/Sub stops pushing; other transient failures ask for
 * a retry, which Pub/Sub's retry policy spaces out.
 */
export async function handlePushDelivery(
  service: Service,
  incoming: IncomingCloudEvent,
  deps: PushDeliveryDeps,
): Promise<PushOutcome> {
  const pushed = incoming.type === PUBSUB_MESSAGE_PUBLISHED;
  const direct = typeof incoming.type === 'string' && isEventType(incoming.type);
  const topic = pushed ? topicFromSource(incoming.source) : direct ? topicOf(incoming.type as never) : 'unknown';
  const subscription = subscriptionName(service.name, topic);
  const policy = { maxAttempts: deps.maxAttempts };
  let message: WireMessage = {
    data: Buffer.from(JSON.stringify({ specversion: '1.0', ...incoming })),
    attributes: { 'content-type': 'application/cloudevents+json' },
  };
  let delivery: Delivery = { messageId: incoming.id ?? 'unknown', subscription, attempt: 1, publishedAt: new Date() };
  let settled: SettledDelivery;
  try {
    if (pushed) {
      const unwrapped = unwrapPush(incoming);
      message = unwrapped.message;
      delivery = { ...unwrapped.delivery, subscription };
      const target = message.attributes[REDRIVE_SUBSCRIPTION_ATTRIBUTE];
      if (target !== undefined && target !== subscription) {
        deps.log.debug('skipped a redrive meant for another subscription', { subscription, target });
        return { status: 'handled' };
      }
    } else if (!direct) {
      throw new PermanentError(
        'EVENTARC.UNEXPECTED_TYPE',
        `cannot handle CloudEvent type "${String(incoming.type)}"; expected ${PUBSUB_MESSAGE_PUBLISHED}`,
      );
    }
    const raw = pushed ? service.rawConsumers?.find((consumer) => consumer.topic === topic) : undefined;
    settled = raw
      ? await runRawDelivery(raw, message, delivery, { ...deps, policy, service: service.name })
      : await runDelivery(
          message,
          delivery,
          (event, received) => dispatch(service, event, received, deps.bus, deps.log, deps.maxAttempts),
          { policy, maxMessageBytes: deps.maxMessageBytes },
        );
  } catch (error) {
    settled = { settlement: settle({ ok: false, error }, delivery.attempt, policy), handled: false };
  }
  const { settlement } = settled;
  if (settlement.action === 'ack') return { status: 'handled' };
  if (settlement.action === 'retry') return { status: 'retry', code: settlement.code, reason: settlement.reason };
  await deps.bus.deadLetter(message, {
    subscription,
    topic,
    code: settlement.code,
    reason: settlement.reason,
    attempts: delivery.attempt,
  });
  await reportDeadLetter(
    {
      subscription,
      topic,
      messageId: delivery.messageId,
      attempts: delivery.attempt,
      settlement,
      message,
      handled: settled.handled,
      ...(settled.event ? { event: settled.event } : {}),
    },
    { publisher: deps.bus, log: deps.log },
  );
  return { status: 'dead-lettered', code: settlement.code, reason: settlement.reason };
}

/**
 * A pushed message on one of a service's raw topics: no decoding, the consumer checks the shape
 * itself. Its failures settle by the same rule; it announces nothing itself, so a dead letter of it
 * is announced by {@link reportDeadLetter} (under `run_unknown`: a raw message names no run).
 */
async function runRawDelivery(
  consumer: RawConsumer,
  message: WireMessage,
  delivery: Delivery,
  deps: PushDeliveryDeps & { policy: { maxAttempts: number }; service: string },
): Promise<SettledDelivery> {
  const log = deps.log.child({ service: deps.service, topic: consumer.topic, messageId: delivery.messageId });
  try {
    await consumer.handle(message, { log, delivery, publisher: deps.bus });
    return { settlement: { action: 'ack' }, handled: false };
  } catch (error) {
    const settlement = settle({ ok: false, error }, delivery.attempt, deps.policy);
    log[settlement.action === 'retry' ? 'warning' : 'error'](`failed to handle a message of ${consumer.topic}`, {
      code: errorCode(error),
      error: errorMessage(error),
    });
    return { settlement, handled: false };
  }
}
