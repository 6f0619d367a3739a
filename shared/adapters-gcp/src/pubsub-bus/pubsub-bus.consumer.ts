import type { Message, Subscription } from '@google-cloud/pubsub';
import {
  errorMessage,
  DEAD_LETTER_TOPIC,
  type WireMessage,
  type Delivery,
  type DeliveryHandler,
  type SubscriptionSpec,
  reportDeadLetter,
  type DeadLetterReport,
  runDelivery,
  REDRIVE_SUBSCRIPTION_ATTRIBUTE,
} from '@mlops/kernel';
import { grpcCode, type PubSubContext, type Settings } from './pubsub-bus.context.js';
import type { PubSubPublisher } from './pubsub-bus.publisher.js';

/**
 * One subscription's streaming-pull consumer. Each message runs through {@link runDelivery} and its
 * settlement is carried out the Pub/Sub way: ack; retry by a nack (at once where the subscription's
 * retry policy spaces redeliveries, after the backoff in client mode); dead letter by publishing it
 * to the dead-letter topic, reporting it and acking. The attempt number is Pub/Sub's
 * `deliveryAttempt`, or a count kept here for a subscription without a dead-letter policy.
 */
export class PubSubConsumer {
  private readonly inHand = new Set<Promise<void>>();
  private readonly delayedNacks = new Map<Message, NodeJS.Timeout>();
  /** Attempts per message id, for a subscription whose messages carry no `deliveryAttempt`. */
  private readonly attempts = new Map<string, number>();
  private closing = false;

  constructor(
    private readonly context: PubSubContext,
    private readonly publisher: PubSubPublisher,
    private readonly spec: SubscriptionSpec,
    private readonly handler: DeliveryHandler,
    private readonly settings: Settings,
    private readonly subscription: Subscription,
  ) {}

  start(): void {
    this.subscription.on('message', (message: Message) => this.receive(message));
    this.subscription.on('error', (error: Error) => {
      // The client library retries what can be retried; what arrives here stopped the stream.
      this.context.log.error(`Pub/Sub subscription ${this.spec.name} failed: ${error.message}`, {
        subscription: this.spec.name,
        code: grpcCode(error),
      });
    });
  }

  private receive(message: Message): void {
    if (this.closing) {
      message.nack();
      return;
    }
    const work: Promise<void> = this.handle(message)
      .catch((error: unknown) => {
        this.context.log.error(`could not settle message ${message.id} on ${this.spec.name}; it will be redelivered`, {
          error: errorMessage(error),
        });
        message.nack();
      })
      .finally(() => this.inHand.delete(work));
    this.inHand.add(work);
  }

  private attemptOf(message: Message): number {
    if (message.deliveryAttempt > 0) return message.deliveryAttempt;
    const attempt = (this.attempts.get(message.id) ?? 0) + 1;
    this.attempts.set(message.id, attempt);
    if (this.attempts.size > 100_000) this.attempts.delete(this.attempts.keys().next().value!);
    return attempt;
  }

  private async handle(message: Message): Promise<void> {
    const target = message.attributes[REDRIVE_SUBSCRIPTION_ATTRIBUTE];
    if (target !== undefined && target !== this.spec.name) {
      message.ack(); // a redrive meant for another subscription of the topic
      return;
    }
    const attempt = this.attemptOf(message);
    const wire: WireMessage = { data: new Uint8Array(message.data), attributes: { ...message.attributes } };
    const delivery: Delivery = {
      messageId: message.id,
      subscription: this.spec.name,
      attempt,
      publishedAt: new Date(message.publishTime.getTime()),
    };
    this.context.count(this.spec.name, 'inFlight', 1);
    try {
      const settled = await runDelivery(wire, delivery, this.handler, {
        policy: this.settings,
        maxMessageBytes: this.context.maxMessageBytes,
      });
      const { settlement } = settled;
      if (settlement.action === 'ack') {
        this.attempts.delete(message.id);
        message.ack();
        this.context.count(this.spec.name, 'acked', 1);
      } else if (settlement.action === 'retry') this.retryLater(message, settlement.delayMs);
      else {
        await this.giveUp(message, {
          subscription: this.spec.name,
          topic: this.spec.topic,
          messageId: message.id,
          attempts: attempt,
          settlement,
          message: wire,
          handled: settled.handled,
          ...(settled.event ? { event: settled.event } : {}),
        });
      }
    } finally {
      this.context.count(this.spec.name, 'inFlight', -1);
    }
  }

  private async giveUp(message: Message, report: DeadLetterReport): Promise<void> {
    if (this.spec.topic === DEAD_LETTER_TOPIC) {
      // Dead-lettering a dead letter would feed it back to this very subscription for ever.
      this.context.log.error(
        `dropped a message of the dead-letter topic that ${this.spec.name} could not handle: ${report.settlement.reason}`,
        { code: report.settlement.code, subscription: this.spec.name, messageId: message.id },
      );
    } else {
      await this.publisher.publishDeadLetter(report.message, {
        subscription: this.spec.name,
        topic: this.spec.topic,
        code: report.settlement.code,
        reason: report.settlement.reason,
        attempts: report.attempts,
        messageId: message.id,
      });
      await reportDeadLetter(report, { publisher: this.publisher, log: this.context.log });
    }
    this.attempts.delete(message.id);
    message.ack();
    this.context.count(this.spec.name, 'dead', 1);
  }

  private retryLater(message: Message, delayMs: number): void {
    if (this.context.retryBackoff === 'subscription' || this.closing) {
      message.nack();
      return;
    }
    // The client library keeps extending the lease while we hold the message.
    const timer = setTimeout(() => {
      this.delayedNacks.delete(message);
      message.nack();
    }, delayMs);
    this.delayedNacks.set(message, timer);
  }

  /** Stop taking messages, finish the ones in hand, hand back the ones waiting for a retry. */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all([...this.inHand]);
    for (const [message, timer] of this.delayedNacks) {
      clearTimeout(timer);
      message.nack();
    }
    this.delayedNacks.clear();
    this.subscription.removeAllListeners('message');
    await this.subscription.close();
    this.subscription.removeAllListeners('error');
  }
}
