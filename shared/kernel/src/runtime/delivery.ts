import type { AnyEvent } from '../events/cloud-event.js';
import { decodeMessage, type WireMessage } from '../events/message-codec.js';
import type { Delivery, DeliveryHandler } from '../ports/event-bus.port.js';
import { settle, type RetryPolicy, type Settlement } from './settlement.js';

/** A delivery run through decoding and its handler, and the decision on it. */
export interface SettledDelivery {
  settlement: Settlement;
  /** The decoded event, when the message was valid. */
  event?: AnyEvent;
  /** Whether the handler ran (false: the message failed validation before it). */
  handled: boolean;
}

/**
 * The receiving half every transport shares: decode and validate the message, hand the event to
 * the handler, and {@link settle} the outcome. A message that cannot be decoded never reaches the
 * handler and settles as the permanent error it is. The transport then acts on the settlement
 * (acknowledge, redeliver later, or keep a dead letter and report it).
 */
export async function runDelivery(
  message: WireMessage,
  delivery: Delivery,
  handler: DeliveryHandler,
  options: { policy: RetryPolicy; maxMessageBytes: number },
): Promise<SettledDelivery> {
  let event: AnyEvent;
  try {
    event = decodeMessage(message, options.maxMessageBytes, { publishedAt: delivery.publishedAt });
  } catch (error) {
    return { settlement: settle({ ok: false, error }, delivery.attempt, options.policy), handled: false };
  }
  try {
    await handler(event, delivery);
    return { settlement: { action: 'ack' }, event, handled: true };
  } catch (error) {
    return { settlement: settle({ ok: false, error }, delivery.attempt, options.policy), event, handled: true };
  }
}
