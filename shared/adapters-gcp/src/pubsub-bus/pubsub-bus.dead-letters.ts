import {
  errorMessage,
  DEAD_LETTER_TOPIC,
  isTopic,
  recoverEnvelope,
  type WireMessage,
  deadLetterForm,
  excerptInfo,
  type DeadLetter,
  type DeadLetterAdmin,
  REDRIVE_SUBSCRIPTION_ATTRIBUTE,
} from '@mlops/kernel';
import { POLICY_PREFIX, busError, grpcCode, originalAttributes, type PubSubContext } from './pubsub-bus.context.js';
import type { PubSubProvisioning } from './pubsub-bus.provisioning.js';
import type { PubSubPublisher } from './pubsub-bus.publisher.js';

/** Most dead letters a listing reads. */
export const MAX_LISTED = 10_000;

interface PulledLetter {
  ackId: string;
  id: string;
  attributes: Record<string, string>;
  data: Buffer;
  publishedAt: Date;
}

function compareIds(a: string, b: string): number {
  // Pub/Sub message ids are decimal strings; compare them as numbers without losing precision.
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

/**
 * Dead letters on Pub/Sub, read from a subscription of the dead-letter topic (`dead-letter.listing`):
 * listing pulls them and hands them back at once (ack deadline 0); redrive republishes the original
 * message to its topic addressed to its subscription ({@link REDRIVE_SUBSCRIPTION_ATTRIBUTE}) and
 * acknowledges the dead letter. Pub/Sub keeps a subscription's messages at most 7 days, so a dead
 * letter nobody redrives within a week is gone (the local bus keeps them).
 */
export class PubSubDeadLetters implements DeadLetterAdmin {
  private exclusive: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly context: PubSubContext,
    private readonly provisioning: PubSubProvisioning,
    private readonly publisher: PubSubPublisher,
  ) {}

  async listDeadLetters(filter: { subscription?: string; limit?: number } = {}): Promise<DeadLetter[]> {
    return this.serialised(async () => {
      const pulled = await this.pull();
      try {
        const letters = await Promise.all(pulled.map((letter) => this.toDeadLetter(letter)));
        return letters
          .filter((letter) => filter.subscription === undefined || letter.subscription === filter.subscription)
          .sort((a, b) => b.deadAt.getTime() - a.deadAt.getTime() || compareIds(b.id, a.id))
          .slice(0, filter.limit ?? 100);
      } finally {
        await this.giveBack(pulled);
      }
    });
  }

  async redrive(filter: { ids?: readonly string[]; subscription?: string } = {}): Promise<number> {
    return this.serialised(async () => {
      const pulled = await this.pull();
      const wanted = filter.ids ? new Set(filter.ids) : undefined;
      const keep: PulledLetter[] = [];
      const done: PulledLetter[] = [];
      let failure: unknown;
      try {
        for (const letter of pulled) {
          const dead = await this.toDeadLetter(letter);
          const chosen =
            (!wanted || wanted.has(dead.id)) &&
            (filter.subscription === undefined || dead.subscription === filter.subscription);
          if (!chosen || failure !== undefined) {
            keep.push(letter);
            continue;
          }
          if (!isTopic(dead.topic) || dead.topic === DEAD_LETTER_TOPIC || !dead.subscription) {
            this.context.log.warning('cannot redrive a dead letter without a known topic and subscription', {
              id: dead.id,
              topic: dead.topic,
              subscription: dead.subscription,
            });
            keep.push(letter);
            continue;
          }
          try {
            await this.publisher.publishMessage(dead.topic, {
              data: dead.message.data,
              attributes: { ...dead.message.attributes, [REDRIVE_SUBSCRIPTION_ATTRIBUTE]: dead.subscription },
            });
            done.push(letter);
          } catch (error) {
            failure = error;
            keep.push(letter);
          }
        }
        if (done.length > 0) {
          const client = await this.context.subscriber();
          await client.acknowledge({
            subscription: this.context.subscriptionPath(this.context.deadLetterSubscription),
            ackIds: done.map((letter) => letter.ackId),
          });
        }
      } finally {
        await this.giveBack(keep);
      }
      if (failure !== undefined) throw busError(failure, 'redriving dead letters');
      return done.length;
    });
  }

  /** Run listing and redrive one at a time: each pulls every dead letter and must not see the other's leases. */
  private serialised<T>(work: () => Promise<T>): Promise<T> {
    const run = this.exclusive.then(work, work);
    this.exclusive = run.catch(() => undefined);
    return run;
  }

  /**
   * Pull every dead letter (leasing them). Pull is the only way to read a subscription without
   * consuming it for good; the caller gives each letter back (nack) or acknowledges it.
   */
  private async pull(): Promise<PulledLetter[]> {
    await this.provisioning.ensureDeadLetterInfra();
    const client = await this.context.subscriber();
    const subscription = this.context.subscriptionPath(this.context.deadLetterSubscription);
    const letters = new Map<string, PulledLetter>();
    while (letters.size < MAX_LISTED) {
      let received;
      try {
        // The emulator answers at once when nothing is there. Google Cloud may answer an immediate
        // pull with nothing while letters wait, so there we wait (briefly) for messages instead.
        [{ receivedMessages: received }] = this.context.emulator
          ? await client.pull({ subscription, maxMessages: 1000, returnImmediately: true })
          : await client.pull({ subscription, maxMessages: 1000 }, { timeout: 3_000, retry: null as never });
      } catch (error) {
        if (grpcCode(error) === 4) break; // DEADLINE_EXCEEDED: nothing more to pull
        await this.giveBack(letters.values());
        throw busError(error, 'listing dead letters');
      }
      if (!received || received.length === 0) break;
      for (const item of received) {
        const message = item.message;
        if (!item.ackId || !message?.messageId) continue;
        const seconds = Number(message.publishTime?.seconds ?? 0);
        const nanos = Number(message.publishTime?.nanos ?? 0);
        letters.set(message.messageId, {
          ackId: item.ackId,
          id: message.messageId,
          attributes: { ...(message.attributes ?? {}) } as Record<string, string>,
          data: Buffer.from(message.data ?? new Uint8Array()),
          publishedAt: new Date(seconds * 1000 + Math.floor(nanos / 1_000_000)),
        });
      }
    }
    return [...letters.values()];
  }

  private async giveBack(letters: Iterable<PulledLetter>): Promise<void> {
    const ackIds = [...letters].map((letter) => letter.ackId);
    if (ackIds.length === 0) return;
    const client = await this.context.subscriber();
    const subscription = this.context.subscriptionPath(this.context.deadLetterSubscription);
    for (let i = 0; i < ackIds.length; i += 1000) {
      await client
        .modifyAckDeadline({ subscription, ackIds: ackIds.slice(i, i + 1000), ackDeadlineSeconds: 0 })
        .catch((error: unknown) => {
          // Not fatal: the lease expires after the ack deadline and the letter is listed again.
          this.context.log.warning('could not hand dead letters back; they reappear after the ack deadline', {
            error: errorMessage(error),
          });
        });
    }
  }

  private async toDeadLetter(letter: PulledLetter): Promise<DeadLetter> {
    const attributes = letter.attributes;
    const original: WireMessage = { data: new Uint8Array(letter.data), attributes: originalAttributes(attributes) };
    // Pub/Sub's own policy forwards messages whole; a listing still shows an oversized one as an excerpt.
    const message = deadLetterForm(original, this.context.maxMessageBytes);
    const base = { id: letter.id, messageId: letter.id, deadAt: letter.publishedAt, message };
    let result: DeadLetter;
    if (attributes['x-dead-letter-code'] !== undefined) {
      result = {
        ...base,
        subscription: attributes['x-dead-letter-subscription'] ?? '',
        topic: attributes['x-dead-letter-topic'] ?? 'unknown',
        messageId: attributes['x-dead-letter-message-id'] ?? letter.id,
        code: attributes['x-dead-letter-code'],
        reason: attributes['x-dead-letter-reason'] ?? '',
        attempts: Number(attributes['x-dead-letter-attempts'] ?? 0),
        deadAt: attributes['x-dead-letter-at'] ? new Date(attributes['x-dead-letter-at']) : letter.publishedAt,
      };
    } else if (attributes[`${POLICY_PREFIX}Subscription`] !== undefined) {
      // Forwarded by Pub/Sub's own dead-letter policy: the consumer never answered (it crashed or hung).
      const subscription = attributes[`${POLICY_PREFIX}Subscription`] ?? '';
      const attempts = Number(attributes[`${POLICY_PREFIX}DeliveryCount`] ?? 0);
      result = {
        ...base,
        subscription,
        topic: await this.context.topicOfSubscription(subscription),
        code: 'BUS.MAX_ATTEMPTS',
        reason: `Pub/Sub's dead-letter policy forwarded the message after ${attempts} deliveries that were never acknowledged (the consumer crashed, hung or lost its lease)`,
        attempts,
      };
    } else {
      result = {
        ...base,
        subscription: '',
        topic: 'unknown',
        code: 'BUS.UNEXPLAINED_DEAD_LETTER',
        reason: 'published to the dead-letter topic without a reason',
        attempts: 0,
      };
    }
    const envelope = recoverEnvelope(original, this.context.maxMessageBytes);
    if (envelope.type) result.eventType = envelope.type;
    if (envelope.id) result.eventId = envelope.id;
    if (envelope.runid) result.runId = envelope.runid;
    const excerpt = excerptInfo(message);
    if (excerpt) result.excerpt = excerpt;
    return result;
  }
}
