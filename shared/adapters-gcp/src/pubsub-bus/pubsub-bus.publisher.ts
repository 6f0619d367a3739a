import type { Topic as PubSubTopic } from '@google-cloud/pubsub';
import {
  PermanentError,
  SharedErrors,
  type AnyEvent,
  DEAD_LETTER_TOPIC,
  topicOf,
  validateEvent,
  encodeMessage,
  messageSize,
  type WireMessage,
  deadLetterForm,
  type DeadLetterInfo,
  type DeadLetterSink,
  type Publisher,
} from '@mlops/kernel';
import { NOT_FOUND, busError, grpcCode, originalAttributes, type PubSubContext } from './pubsub-bus.context.js';
import type { PubSubProvisioning } from './pubsub-bus.provisioning.js';

/** Cut a string to at most `bytes` UTF-8 bytes without splitting a character (attribute values are limited to 1 KiB). */
function truncateUtf8(text: string, bytes: number): string {
  if (Buffer.byteLength(text) <= bytes) return text;
  let cut = Buffer.from(text).subarray(0, bytes).toString('utf8');
  while (cut.endsWith('\uFFFD')) cut = cut.slice(0, -1);
  return cut;
}

/**
 * Publishing on Pub/Sub: events in the CloudEvents binary mode (`ce-` attributes) on their type's
 * topic, created on first use, with one batching topic handle per topic; and dead letters, the
 * message (an oversized one as an excerpt) with its reason in `x-dead-letter-*` attributes.
 */
export class PubSubPublisher implements Publisher, DeadLetterSink {
  private readonly topicHandles = new Map<string, PubSubTopic>();

  constructor(
    private readonly context: PubSubContext,
    private readonly provisioning: PubSubProvisioning,
  ) {}

  async publish(event: AnyEvent): Promise<string> {
    const valid = validateEvent(event);
    const message = encodeMessage(valid);
    const size = messageSize(message);
    if (size > this.context.maxMessageBytes) throw SharedErrors.tooLarge(size, this.context.maxMessageBytes);
    return this.publishMessage(topicOf(valid.type), message);
  }

  /** Publish a message as it is (a redrive, a dead letter) on a topic created if absent. */
  async publishMessage(topic: string, message: WireMessage): Promise<string> {
    if (this.context.closed) throw new PermanentError('BUS.CLOSED', 'the event bus is closed');
    await this.provisioning.ensureTopic(topic);
    try {
      return await this.topicHandle(topic).publishMessage({
        data: Buffer.from(message.data),
        attributes: message.attributes,
      });
    } catch (error) {
      if (grpcCode(error) === NOT_FOUND) this.provisioning.forgetTopic(topic); // deleted behind our back
      throw busError(error, `publishing to ${topic}`);
    }
  }

  /** Publish a dead letter: the original message (bounded) plus its reason. */
  async publishDeadLetter(message: WireMessage, info: DeadLetterInfo & { messageId?: string }): Promise<void> {
    await this.provisioning.ensureDeadLetterInfra();
    // An oversized message is kept as an excerpt with its size and hash, never whole.
    const kept = deadLetterForm(message, this.context.maxMessageBytes);
    const attributes: Record<string, string> = {
      ...originalAttributes(kept.attributes),
      'x-dead-letter-code': info.code,
      'x-dead-letter-reason': truncateUtf8(info.reason, 1000),
      'x-dead-letter-subscription': info.subscription,
      'x-dead-letter-topic': info.topic,
      'x-dead-letter-attempts': String(info.attempts),
      'x-dead-letter-at': new Date().toISOString(),
      ...(info.messageId ? { 'x-dead-letter-message-id': info.messageId } : {}),
    };
    await this.publishMessage(DEAD_LETTER_TOPIC, { data: kept.data, attributes });
  }

  async deadLetter(message: WireMessage, info: DeadLetterInfo): Promise<void> {
    await this.publishDeadLetter(message, info);
    this.context.count(info.subscription, 'dead', 1);
  }

  /** Send what the batching handles hold. */
  async flush(): Promise<void> {
    await Promise.all([...this.topicHandles.values()].map((topic) => topic.flush().catch(() => undefined)));
  }

  private topicHandle(topic: string): PubSubTopic {
    let handle = this.topicHandles.get(topic);
    if (!handle) {
      const batching = this.context.publishBatching;
      handle = this.context.client.topic(topic, batching ? { batching } : {});
      this.topicHandles.set(topic, handle);
    }
    return handle;
  }
}
