import type { SubscriptionMetadata } from '@google-cloud/pubsub';
import { PermanentError, DEAD_LETTER_TOPIC, isTopic, type SubscriptionSpec } from '@mlops/kernel';
import {
  ALREADY_EXISTS,
  PERMISSION_DENIED,
  RETENTION_SECONDS,
  busError,
  checkName,
  grpcCode,
  shortName,
  type PubSubContext,
  type Settings,
} from './pubsub-bus.context.js';

function duration(ms: number): { seconds: number; nanos: number } {
  const bounded = Math.min(600_000, Math.max(0, Math.round(ms)));
  return { seconds: Math.floor(bounded / 1000), nanos: (bounded % 1000) * 1_000_000 };
}

function durationMs(value: { seconds?: unknown; nanos?: unknown } | null | undefined): number {
  if (!value) return 0;
  return Number(value.seconds ?? 0) * 1000 + Math.round(Number(value.nanos ?? 0) / 1_000_000);
}

/**
 * Topics and subscriptions, each created once if absent: every subscription retains acknowledged
 * messages (so `replay` can seek back) and has a dead-letter policy (so Pub/Sub counts delivery
 * attempts and, should a consumer die on a message again and again, forwards it by itself); the
 * dead-letter topic and its listing subscription exist before anything can be dead-lettered.
 */
export class PubSubProvisioning {
  private readonly ensuredTopics = new Map<string, Promise<void>>();
  private readonly ensuredSubscriptions = new Map<string, Promise<void>>();
  private deadLetterInfra: Promise<void> | undefined;

  constructor(private readonly context: PubSubContext) {}

  /** Create a topic unless it exists (once per process, again after a failure or a deletion). */
  ensureTopic(topic: string): Promise<void> {
    let ensured = this.ensuredTopics.get(topic);
    if (!ensured) {
      ensured = this.context.client.createTopic(topic).then(
        () => undefined,
        (error: unknown) => {
          if (grpcCode(error) === ALREADY_EXISTS || grpcCode(error) === PERMISSION_DENIED) return;
          this.ensuredTopics.delete(topic);
          throw busError(error, `creating topic ${topic}`);
        },
      );
      this.ensuredTopics.set(topic, ensured);
    }
    return ensured;
  }

  /** Forget that a topic exists (it was deleted behind our back): it is created on next use. */
  forgetTopic(topic: string): void {
    this.ensuredTopics.delete(topic);
  }

  /** The dead-letter topic and its listing subscription must exist before anything is dead-lettered, or it is lost. */
  ensureDeadLetterInfra(): Promise<void> {
    this.deadLetterInfra ??= (async () => {
      await this.ensureTopic(DEAD_LETTER_TOPIC);
      try {
        // No dead-letter or retry policy: a listing hands letters back with a nack and must see them again at once.
        await this.context.client.topic(DEAD_LETTER_TOPIC).createSubscription(this.context.deadLetterSubscription, {
          ackDeadlineSeconds: 60,
          messageRetentionDuration: { seconds: RETENTION_SECONDS },
        });
      } catch (error) {
        const code = grpcCode(error);
        if (code !== ALREADY_EXISTS && code !== PERMISSION_DENIED)
          throw busError(error, `creating subscription ${this.context.deadLetterSubscription}`);
      }
    })().catch((error: unknown) => {
      this.deadLetterInfra = undefined;
      throw error;
    });
    return this.deadLetterInfra;
  }

  private desiredMetadata(spec: SubscriptionSpec, settings: Settings): SubscriptionMetadata {
    const metadata: SubscriptionMetadata = {
      ackDeadlineSeconds: this.context.ackDeadlineSeconds,
      // Kept acknowledged messages are what `replay` seeks back over.
      retainAckedMessages: true,
      messageRetentionDuration: { seconds: RETENTION_SECONDS },
    };
    if (spec.topic !== DEAD_LETTER_TOPIC) {
      // Pub/Sub allows 5..100 attempts. This process dead-letters at maxAttempts itself (with the
      // reason); the policy makes Pub/Sub count attempts, and is the safety net for a message that
      // keeps killing its consumer before it can answer.
      metadata.deadLetterPolicy = {
        deadLetterTopic: this.context.topicPath(DEAD_LETTER_TOPIC),
        maxDeliveryAttempts: Math.min(100, Math.max(5, settings.maxAttempts)),
      };
    }
    if (this.context.retryBackoff === 'subscription') {
      metadata.retryPolicy = {
        minimumBackoff: duration(settings.backoff.minMs),
        maximumBackoff: duration(settings.backoff.maxMs),
      };
    }
    return metadata;
  }

  /** Create the topic and subscription if absent, or bring an existing subscription's settings up to date. */
  async ensureSubscription(spec: SubscriptionSpec): Promise<void> {
    if (this.context.closed) throw new PermanentError('BUS.CLOSED', 'the event bus is closed');
    if (!isTopic(spec.topic)) throw new PermanentError('BUS.UNKNOWN_TOPIC', `unknown topic "${spec.topic}"`);
    checkName(spec.name);
    if (spec.name === this.context.deadLetterSubscription)
      throw new PermanentError('BUS.BAD_NAME', `subscription name ${spec.name} is reserved for listing dead letters`);
    const settings = this.context.settingsOf(spec);
    const key = JSON.stringify([spec.name, spec.topic, settings.maxAttempts, settings.backoff]);
    let ensured = this.ensuredSubscriptions.get(key);
    if (!ensured) {
      ensured = this.createOrUpdateSubscription(spec, settings).catch((error: unknown) => {
        this.ensuredSubscriptions.delete(key);
        throw error;
      });
      this.ensuredSubscriptions.set(key, ensured);
    }
    return ensured;
  }

  private async createOrUpdateSubscription(spec: SubscriptionSpec, settings: Settings): Promise<void> {
    await this.ensureDeadLetterInfra();
    await this.ensureTopic(spec.topic);
    const desired = this.desiredMetadata(spec, settings);
    try {
      await this.context.client.topic(spec.topic).createSubscription(spec.name, desired);
      this.context.knowTopic(spec.name, spec.topic);
      return;
    } catch (error) {
      if (grpcCode(error) !== ALREADY_EXISTS) throw busError(error, `creating subscription ${spec.name}`);
    }
    const subscription = this.context.client.subscription(spec.name);
    let current;
    try {
      [current] = await subscription.getMetadata();
    } catch (error) {
      throw busError(error, `reading subscription ${spec.name}`);
    }
    if (shortName(current.topic) !== spec.topic) {
      throw new PermanentError(
        'BUS.SUBSCRIPTION_CONFLICT',
        `subscription ${spec.name} exists on topic ${shortName(current.topic)}, not ${spec.topic}`,
      );
    }
    this.context.knowTopic(spec.name, spec.topic);
    // Bring the retry settings up to date, as the local bus does on every subscribe.
    const update: SubscriptionMetadata = {};
    if (!current.retainAckedMessages) update.retainAckedMessages = true;
    const policy = desired.deadLetterPolicy;
    if (
      policy &&
      (shortName(current.deadLetterPolicy?.deadLetterTopic) !== DEAD_LETTER_TOPIC ||
        current.deadLetterPolicy?.maxDeliveryAttempts !== policy.maxDeliveryAttempts)
    ) {
      update.deadLetterPolicy = policy;
    }
    const retry = desired.retryPolicy;
    if (
      retry &&
      (durationMs(current.retryPolicy?.minimumBackoff) !== durationMs(retry.minimumBackoff) ||
        durationMs(current.retryPolicy?.maximumBackoff) !== durationMs(retry.maximumBackoff))
    ) {
      update.retryPolicy = retry;
    }
    if (Object.keys(update).length === 0) return;
    try {
      await subscription.setMetadata(update);
    } catch (error) {
      throw busError(error, `updating subscription ${spec.name}`);
    }
  }
}
