import {
  PubSub,
  v1,
  type Message,
  type Subscription,
  type Topic as PubSubTopic,
  type SubscriptionMetadata,
} from '@google-cloud/pubsub';
import {
  PermanentError,
  PlatformError,
  SharedErrors,
  TransientError,
  classifyError,
  errorCode,
  errorMessage,
} from '../errors.js';
import type { AnyEvent } from '../events/cloud-event.js';
import { DEAD_LETTER_TOPIC, isTopic, topicOf, type Topic } from '../events/event-catalog.js';
import { validateEvent } from '../events/event-validator.js';
import {
  DEFAULT_MAX_MESSAGE_BYTES,
  claimedType,
  decodeMessage,
  encodeMessage,
  messageSize,
  type WireMessage,
} from '../events/message-codec.js';
import { silentLogger, type Logger } from '../log/logger.js';
import type {
  DeadLetter,
  Delivery,
  DeliveryHandler,
  EventBus,
  SubscriptionHandle,
  SubscriptionSpec,
  SubscriptionStats,
} from '../ports/event-bus.port.js';
import { backoffDelay } from '../runtime/backoff.js';

/**
 * Attribute of a redriven message naming the one subscription it is meant for. A topic fans out to
 * every subscription, so the others acknowledge such a message without handling it. (A server-side
 * subscription filter would do this in Google Cloud, but the emulator accepts filters and ignores
 * them, and filters cannot be added to an existing subscription; the consumer check works for both.)
 */
export const REDRIVE_SUBSCRIPTION_ATTRIBUTE = 'x-redrive-subscription';

/** Attributes a dead letter carries besides the original ones (the same names as the local bus). */
const DEAD_LETTER_PREFIX = 'x-dead-letter-';
/** Attributes Pub/Sub adds when its own dead-letter policy forwards a message. */
const POLICY_PREFIX = 'CloudPubSubDeadLetterSource';

/** How redelivery backoff is applied after a transient failure. */
export type RetryBackoffMode = 'subscription' | 'client';

/** Options of {@link PubSubEventBus}. */
export interface PubSubEventBusOptions {
  /** Google Cloud project (any id on the emulator; tests use one per test to isolate). */
  projectId: string;
  /** `host:port` of the Pub/Sub emulator; unset to talk to Google Cloud. */
  emulatorHost?: string;
  /** Deliveries before a message is dead-lettered, unless a subscription says otherwise (default 5). */
  maxAttempts?: number;
  /** Redelivery backoff unless a subscription says otherwise (default 100 ms .. 60 s). */
  backoff?: { minMs: number; maxMs: number };
  /** Largest message accepted on receipt (default 256 KiB). */
  maxMessageBytes?: number;
  /**
   * `subscription`: the subscription's retry policy delays redelivery and a failed message is nacked
   * at once (Google Cloud). `client`: the consumer keeps the message leased for the backoff and then
   * nacks it. Default: `client` on the emulator, whose retry policy redelivers the first nack at once
   * and rounds later delays up to about 2 s, so short backoffs would not be honoured; `subscription`
   * on Google Cloud.
   */
  retryBackoff?: RetryBackoffMode;
  /** Subscription of the dead-letter topic used to list and redrive dead letters (default `dead-letter.listing`). */
  deadLetterSubscription?: string;
  /** Ack deadline of created subscriptions; the client library extends leases while a handler runs (default 60). */
  ackDeadlineSeconds?: number;
  /** Publisher batching (library default: 100 messages or 10 ms). */
  publishBatching?: { maxMessages?: number; maxMilliseconds?: number };
  log?: Logger;
}

interface Settings {
  maxAttempts: number;
  backoff: { minMs: number; maxMs: number };
  concurrency: number;
}

interface DeadLetterInfo {
  subscription: string;
  topic: string;
  code: string;
  reason: string;
  attempts: number;
  messageId?: string;
}

interface PulledLetter {
  ackId: string;
  id: string;
  attributes: Record<string, string>;
  data: Buffer;
  publishedAt: Date;
}

const NAME = /^(?!goog)[A-Za-z][A-Za-z0-9\-_.~+%]{2,254}$/;
const TRANSIENT_GRPC_CODES = new Set([1, 4, 8, 10, 13, 14]); // CANCELLED, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED, INTERNAL, UNAVAILABLE
const ALREADY_EXISTS = 6;
// On Google Cloud the topics and the listing subscription belong to the deployment (infra/), and a
// service may publish but not create: a creation it may not make is left to the deployment, and a
// publish to a topic that does not exist still fails on its own.
const PERMISSION_DENIED = 7;
const NOT_FOUND = 5;
const RETENTION_SECONDS = 7 * 24 * 3600;
const MAX_LISTED = 10_000;

function grpcCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** A Pub/Sub failure as a platform error: transient for the gRPC codes that may pass, permanent otherwise. */
function busError(error: unknown, action: string): PlatformError {
  if (error instanceof PlatformError) return error;
  const code = grpcCode(error);
  const message = `Pub/Sub ${action} failed: ${errorMessage(error)}`;
  if (code === undefined || TRANSIENT_GRPC_CODES.has(code))
    return new TransientError('BUS.UNAVAILABLE', message, { cause: error, details: { grpcCode: code } });
  return new PermanentError('BUS.REJECTED', message, { cause: error, details: { grpcCode: code } });
}

function duration(ms: number): { seconds: number; nanos: number } {
  const bounded = Math.min(600_000, Math.max(0, Math.round(ms)));
  return { seconds: Math.floor(bounded / 1000), nanos: (bounded % 1000) * 1_000_000 };
}

function durationMs(value: { seconds?: unknown; nanos?: unknown } | null | undefined): number {
  if (!value) return 0;
  return Number(value.seconds ?? 0) * 1000 + Math.round(Number(value.nanos ?? 0) / 1_000_000);
}

function shortName(path: string | null | undefined): string {
  return (path ?? '').split('/').pop() ?? '';
}

/** Attributes of the message as it was first published, without what dead-lettering and redrive added. */
function originalAttributes(attributes: Record<string, string>): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [key, value] of Object.entries(attributes)) {
    if (key.startsWith(DEAD_LETTER_PREFIX) || key.startsWith(POLICY_PREFIX) || key === REDRIVE_SUBSCRIPTION_ATTRIBUTE)
      continue;
    result[key] = value;
  }
  return result;
}

/** Cut a string to at most `bytes` UTF-8 bytes without splitting a character (attribute values are limited to 1 KiB). */
function truncateUtf8(text: string, bytes: number): string {
  if (Buffer.byteLength(text) <= bytes) return text;
  let cut = Buffer.from(text).subarray(0, bytes).toString('utf8');
  while (cut.endsWith('\uFFFD')) cut = cut.slice(0, -1);
  return cut;
}

function compareIds(a: string, b: string): number {
  // Pub/Sub message ids are decimal strings; compare them as numbers without losing precision.
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

/**
 * The event bus on Google Cloud Pub/Sub (or its emulator), with the same behaviour as the embedded
 * bus: each topic and subscription is created if absent; every subscription retains acknowledged
 * messages (so `replay` can seek back) and has a dead-letter policy (so Pub/Sub counts delivery
 * attempts and, should this process die on a message again and again, forwards it to the
 * dead-letter topic by itself). Messages use the CloudEvents Pub/Sub binding, binary mode.
 *
 * On receipt: a message that cannot be decoded or whose handler throws a permanent error is
 * published to the `dead-letter` topic with its reason (`x-dead-letter-*` attributes) and
 * acknowledged; a transient error is redelivered with backoff (see `retryBackoff`); at the attempt
 * limit the message is dead-lettered with `BUS.MAX_ATTEMPTS`. The attempt number is Pub/Sub's
 * `deliveryAttempt`, or a count kept in this process for a subscription without a dead-letter policy.
 *
 * Dead letters are read from a subscription of the dead-letter topic (`dead-letter.listing`):
 * listing pulls them and hands them back at once (ack deadline 0), redrive republishes the original
 * message to its topic addressed to its subscription ({@link REDRIVE_SUBSCRIPTION_ATTRIBUTE}) and
 * acknowledges the dead letter. Pub/Sub keeps a subscription's messages at most 7 days, so a dead
 * letter nobody redrives within a week is gone (the local bus keeps them). Ordering is not assumed.
 */
export class PubSubEventBus implements EventBus {
  readonly projectId: string;
  readonly maxMessageBytes: number;
  readonly retryBackoff: RetryBackoffMode;
  readonly deadLetterSubscription: string;
  private readonly emulator: boolean;
  private readonly client: PubSub;
  private subscriberClient: Promise<InstanceType<typeof v1.SubscriberClient>> | undefined;
  private readonly defaults: { maxAttempts: number; backoff: { minMs: number; maxMs: number } };
  private readonly ackDeadlineSeconds: number;
  private readonly publishBatching: { maxMessages?: number; maxMilliseconds?: number } | undefined;
  private readonly log: Logger;
  private readonly topicHandles = new Map<string, PubSubTopic>();
  private readonly ensuredTopics = new Map<string, Promise<void>>();
  private readonly ensuredSubscriptions = new Map<string, Promise<void>>();
  private readonly subscriptionTopics = new Map<string, string>();
  private deadLetterInfra: Promise<void> | undefined;
  private readonly consumers = new Set<PubSubConsumer>();
  /** Per-subscription counts of what this process settled (Pub/Sub keeps no such counts). */
  private readonly counters = new Map<string, { acked: number; dead: number; inFlight: number }>();
  private exclusive: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(options: PubSubEventBusOptions) {
    this.projectId = options.projectId;
    this.emulator = options.emulatorHost !== undefined;
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.retryBackoff = options.retryBackoff ?? (this.emulator ? 'client' : 'subscription');
    this.deadLetterSubscription = options.deadLetterSubscription ?? `${DEAD_LETTER_TOPIC}.listing`;
    this.defaults = {
      maxAttempts: options.maxAttempts ?? 5,
      backoff: options.backoff ?? { minMs: 100, maxMs: 60_000 },
    };
    this.ackDeadlineSeconds = options.ackDeadlineSeconds ?? 60;
    this.publishBatching = options.publishBatching;
    this.log = options.log ?? silentLogger;
    checkName(this.deadLetterSubscription);
    this.client = new PubSub({
      projectId: options.projectId,
      ...(options.emulatorHost
        ? {
            apiEndpoint: options.emulatorHost,
            emulatorMode: true,
            // The emulator needs no credentials; placeholder ones keep google-auth from probing the
            // GCE metadata server (a slow lookup and a warning) when the gRPC stub is created.
            credentials: { client_email: 'emulator@localhost', private_key: 'unused-by-the-emulator' },
          }
        : {}),
    });
  }

  private topicPath(topic: string): string {
    return `projects/${this.projectId}/topics/${topic}`;
  }

  private subscriptionPath(name: string): string {
    return `projects/${this.projectId}/subscriptions/${name}`;
  }

  private counter(subscription: string): { acked: number; dead: number; inFlight: number } {
    let counter = this.counters.get(subscription);
    if (!counter) this.counters.set(subscription, (counter = { acked: 0, dead: 0, inFlight: 0 }));
    return counter;
  }

  /** @internal the topic handle used to publish (batching settings applied once). */
  topicHandle(topic: string): PubSubTopic {
    let handle = this.topicHandles.get(topic);
    if (!handle) {
      handle = this.client.topic(topic, this.publishBatching ? { batching: this.publishBatching } : {});
      this.topicHandles.set(topic, handle);
    }
    return handle;
  }

  private ensureTopic(topic: string): Promise<void> {
    let ensured = this.ensuredTopics.get(topic);
    if (!ensured) {
      ensured = this.client.createTopic(topic).then(
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

  /** The dead-letter topic and its listing subscription must exist before anything is dead-lettered, or it is lost. */
  private ensureDeadLetterInfra(): Promise<void> {
    this.deadLetterInfra ??= (async () => {
      await this.ensureTopic(DEAD_LETTER_TOPIC);
      try {
        // No dead-letter or retry policy: a listing hands letters back with a nack and must see them again at once.
        await this.client.topic(DEAD_LETTER_TOPIC).createSubscription(this.deadLetterSubscription, {
          ackDeadlineSeconds: 60,
          messageRetentionDuration: { seconds: RETENTION_SECONDS },
        });
      } catch (error) {
        const code = grpcCode(error);
        if (code !== ALREADY_EXISTS && code !== PERMISSION_DENIED)
          throw busError(error, `creating subscription ${this.deadLetterSubscription}`);
      }
    })().catch((error: unknown) => {
      this.deadLetterInfra = undefined;
      throw error;
    });
    return this.deadLetterInfra;
  }

  private settingsOf(spec: SubscriptionSpec): Settings {
    return {
      maxAttempts: Math.max(1, spec.maxAttempts ?? this.defaults.maxAttempts),
      backoff: spec.backoff ?? this.defaults.backoff,
      concurrency: Math.max(1, spec.concurrency ?? 1),
    };
  }

  private desiredMetadata(spec: SubscriptionSpec, settings: Settings): SubscriptionMetadata {
    const metadata: SubscriptionMetadata = {
      ackDeadlineSeconds: this.ackDeadlineSeconds,
      // Kept acknowledged messages are what `replay` seeks back over.
      retainAckedMessages: true,
      messageRetentionDuration: { seconds: RETENTION_SECONDS },
    };
    if (spec.topic !== DEAD_LETTER_TOPIC) {
      // Pub/Sub allows 5..100 attempts. This process dead-letters at maxAttempts itself (with the
      // reason); the policy makes Pub/Sub count attempts, and is the safety net for a message that
      // keeps killing its consumer before it can answer.
      metadata.deadLetterPolicy = {
        deadLetterTopic: this.topicPath(DEAD_LETTER_TOPIC),
        maxDeliveryAttempts: Math.min(100, Math.max(5, settings.maxAttempts)),
      };
    }
    if (this.retryBackoff === 'subscription') {
      metadata.retryPolicy = {
        minimumBackoff: duration(settings.backoff.minMs),
        maximumBackoff: duration(settings.backoff.maxMs),
      };
    }
    return metadata;
  }

  async ensureSubscription(spec: SubscriptionSpec): Promise<void> {
    if (this.closed) throw new PermanentError('BUS.CLOSED', 'the event bus is closed');
    if (!isTopic(spec.topic)) throw new PermanentError('BUS.UNKNOWN_TOPIC', `unknown topic "${spec.topic}"`);
    checkName(spec.name);
    if (spec.name === this.deadLetterSubscription)
      throw new PermanentError('BUS.BAD_NAME', `subscription name ${spec.name} is reserved for listing dead letters`);
    const settings = this.settingsOf(spec);
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
      await this.client.topic(spec.topic).createSubscription(spec.name, desired);
      this.subscriptionTopics.set(spec.name, spec.topic);
      return;
    } catch (error) {
      if (grpcCode(error) !== ALREADY_EXISTS) throw busError(error, `creating subscription ${spec.name}`);
    }
    const subscription = this.client.subscription(spec.name);
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
    this.subscriptionTopics.set(spec.name, spec.topic);
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

  async publish(event: AnyEvent): Promise<string> {
    const valid = validateEvent(event);
    const message = encodeMessage(valid);
    const size = messageSize(message);
    if (size > this.maxMessageBytes) throw SharedErrors.tooLarge(size, this.maxMessageBytes);
    return this.publishMessage(topicOf(valid.type), message);
  }

  private async publishMessage(topic: string, message: WireMessage): Promise<string> {
    if (this.closed) throw new PermanentError('BUS.CLOSED', 'the event bus is closed');
    await this.ensureTopic(topic);
    try {
      return await this.topicHandle(topic).publishMessage({
        data: Buffer.from(message.data),
        attributes: message.attributes,
      });
    } catch (error) {
      if (grpcCode(error) === NOT_FOUND) this.ensuredTopics.delete(topic); // deleted behind our back: recreate next time
      throw busError(error, `publishing to ${topic}`);
    }
  }

  async subscribe(spec: SubscriptionSpec, handler: DeliveryHandler): Promise<SubscriptionHandle> {
    await this.ensureSubscription(spec);
    const settings = this.settingsOf(spec);
    const subscription = this.client.subscription(spec.name, {
      flowControl: { maxMessages: settings.concurrency, allowExcessMessages: false },
      streamingOptions: { maxStreams: settings.concurrency >= 64 ? 4 : 1 },
      // A message holds its flow-control slot until its ack is sent; the library's default 100 ms
      // ack batching capped a subscription of concurrency 64 at about 600 messages/s on the emulator.
      batching: { maxMessages: 1000, maxMilliseconds: 10 },
    });
    const consumer = new PubSubConsumer(this, spec, handler, settings, subscription, this.log);
    this.consumers.add(consumer);
    consumer.start();
    return {
      name: spec.name,
      close: async () => {
        await consumer.close();
        this.consumers.delete(consumer);
      },
    };
  }

  /** @internal bookkeeping of consumers, for `stats`. */
  count(subscription: string, what: 'acked' | 'dead' | 'inFlight', delta: number): void {
    this.counter(subscription)[what] += delta;
  }

  /** @internal publish a dead letter: the original message plus its reason. */
  async publishDeadLetter(message: WireMessage, info: DeadLetterInfo): Promise<void> {
    await this.ensureDeadLetterInfra();
    const attributes: Record<string, string> = {
      ...originalAttributes(message.attributes),
      'x-dead-letter-code': info.code,
      'x-dead-letter-reason': truncateUtf8(info.reason, 1000),
      'x-dead-letter-subscription': info.subscription,
      'x-dead-letter-topic': info.topic,
      'x-dead-letter-attempts': String(info.attempts),
      'x-dead-letter-at': new Date().toISOString(),
      ...(info.messageId ? { 'x-dead-letter-message-id': info.messageId } : {}),
    };
    await this.publishMessage(DEAD_LETTER_TOPIC, { data: message.data, attributes });
  }

  async deadLetter(
    message: WireMessage,
    info: { subscription: string; topic: string; code: string; reason: string; attempts: number },
  ): Promise<void> {
    await this.publishDeadLetter(message, info);
    this.count(info.subscription, 'dead', 1);
  }

  private async subscriber(): Promise<InstanceType<typeof v1.SubscriberClient>> {
    // The documented way to a GAPIC client with the same endpoint, credentials and project.
    this.subscriberClient ??= this.client
      .getClientConfig()
      .then((config) => new v1.SubscriberClient(config as ConstructorParameters<typeof v1.SubscriberClient>[0]));
    return this.subscriberClient;
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
  private async pullDeadLetters(): Promise<PulledLetter[]> {
    await this.ensureDeadLetterInfra();
    const client = await this.subscriber();
    const subscription = this.subscriptionPath(this.deadLetterSubscription);
    const letters = new Map<string, PulledLetter>();
    while (letters.size < MAX_LISTED) {
      let received;
      try {
        // The emulator answers at once when nothing is there. Google Cloud may answer an immediate
        // pull with nothing while letters wait, so there we wait (briefly) for messages instead.
        [{ receivedMessages: received }] = this.emulator
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
    const client = await this.subscriber();
    const subscription = this.subscriptionPath(this.deadLetterSubscription);
    for (let i = 0; i < ackIds.length; i += 1000) {
      await client
        .modifyAckDeadline({ subscription, ackIds: ackIds.slice(i, i + 1000), ackDeadlineSeconds: 0 })
        .catch((error: unknown) => {
          // Not fatal: the lease expires after the ack deadline and the letter is listed again.
          this.log.warning('could not hand dead letters back; they reappear after the ack deadline', {
            error: errorMessage(error),
          });
        });
    }
  }

  private async topicOfSubscription(name: string): Promise<string> {
    const known = this.subscriptionTopics.get(name);
    if (known) return known;
    try {
      const [metadata] = await this.client.subscription(name).getMetadata();
      const topic = shortName(metadata.topic);
      this.subscriptionTopics.set(name, topic);
      return topic;
    } catch {
      return 'unknown';
    }
  }

  private async toDeadLetter(letter: PulledLetter): Promise<DeadLetter> {
    const attributes = letter.attributes;
    const message: WireMessage = { data: new Uint8Array(letter.data), attributes: originalAttributes(attributes) };
    let result: DeadLetter;
    if (attributes['x-dead-letter-code'] !== undefined) {
      result = {
        id: letter.id,
        subscription: attributes['x-dead-letter-subscription'] ?? '',
        topic: attributes['x-dead-letter-topic'] ?? 'unknown',
        messageId: attributes['x-dead-letter-message-id'] ?? letter.id,
        code: attributes['x-dead-letter-code'],
        reason: attributes['x-dead-letter-reason'] ?? '',
        attempts: Number(attributes['x-dead-letter-attempts'] ?? 0),
        deadAt: attributes['x-dead-letter-at'] ? new Date(attributes['x-dead-letter-at']) : letter.publishedAt,
        message,
      };
    } else if (attributes[`${POLICY_PREFIX}Subscription`] !== undefined) {
      // Forwarded by Pub/Sub's own dead-letter policy: the consumer never answered (it crashed or hung).
      const subscription = attributes[`${POLICY_PREFIX}Subscription`] ?? '';
      const attempts = Number(attributes[`${POLICY_PREFIX}DeliveryCount`] ?? 0);
      result = {
        id: letter.id,
        subscription,
        topic: await this.topicOfSubscription(subscription),
        messageId: letter.id,
        code: 'BUS.MAX_ATTEMPTS',
        reason: `Pub/Sub's dead-letter policy forwarded the message after ${attempts} deliveries that were never acknowledged (the consumer crashed, hung or lost its lease)`,
        attempts,
        deadAt: letter.publishedAt,
        message,
      };
    } else {
      result = {
        id: letter.id,
        subscription: '',
        topic: 'unknown',
        messageId: letter.id,
        code: 'BUS.UNEXPLAINED_DEAD_LETTER',
        reason: 'published to the dead-letter topic without a reason',
        attempts: 0,
        deadAt: letter.publishedAt,
        message,
      };
    }
    const type = claimedType(message);
    if (type) result.eventType = type;
    if (message.attributes['ce-id']) result.eventId = message.attributes['ce-id'];
    if (message.attributes['ce-runid']) result.runId = message.attributes['ce-runid'];
    return result;
  }

  async listDeadLetters(filter: { subscription?: string; limit?: number } = {}): Promise<DeadLetter[]> {
    return this.serialised(async () => {
      const pulled = await this.pullDeadLetters();
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
      const pulled = await this.pullDeadLetters();
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
            this.log.warning('cannot redrive a dead letter without a known topic and subscription', {
              id: dead.id,
              topic: dead.topic,
              subscription: dead.subscription,
            });
            keep.push(letter);
            continue;
          }
          try {
            await this.publishMessage(dead.topic, {
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
          const client = await this.subscriber();
          await client.acknowledge({
            subscription: this.subscriptionPath(this.deadLetterSubscription),
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

  /**
   * Replay by rewinding subscriptions with Pub/Sub's seek to a time, which the emulator supports:
   * every retained message published since `since` is marked unacknowledged and delivered again
   * (subscriptions created here retain acknowledged messages for 7 days). Two differences from the
   * local bus follow from seek: messages published before `since` that were still unacknowledged
   * become acknowledged, and Pub/Sub does not say how many messages came back, so this resolves to
   * the number of subscriptions rewound.
   */
  async replay(options: { topic: Topic; since: Date; subscription?: string }): Promise<number> {
    if (!isTopic(options.topic)) throw new PermanentError('BUS.UNKNOWN_TOPIC', `unknown topic "${options.topic}"`);
    let names: string[];
    if (options.subscription !== undefined) {
      const topic = await this.topicOfSubscription(options.subscription);
      if (topic === 'unknown')
        throw new PermanentError('BUS.UNKNOWN_SUBSCRIPTION', `subscription ${options.subscription} does not exist`);
      if (topic !== options.topic)
        throw new PermanentError(
          'BUS.SUBSCRIPTION_CONFLICT',
          `subscription ${options.subscription} is on topic ${topic}, not ${options.topic}`,
        );
      names = [options.subscription];
    } else {
      try {
        const [subscriptions] = await this.client.topic(options.topic).getSubscriptions();
        names = subscriptions
          .map((subscription) => shortName(subscription.name))
          .filter((name) => name !== this.deadLetterSubscription);
      } catch (error) {
        if (grpcCode(error) === NOT_FOUND) return 0;
        throw busError(error, `listing subscriptions of ${options.topic}`);
      }
    }
    for (const name of names) {
      try {
        await this.client.subscription(name).seek(options.since);
      } catch (error) {
        throw busError(error, `seeking ${name} to ${options.since.toISOString()}`);
      }
    }
    return names.length;
  }

  /**
   * What is knowable: the subscriptions on platform topics, dead letters waiting per subscription
   * (from the listing subscription), and what this process acknowledged and holds. Pub/Sub reports
   * backlog only through Cloud Monitoring, so `pending` is -1 (unknown).
   */
  async stats(): Promise<SubscriptionStats[]> {
    let subscriptions;
    try {
      [subscriptions] = await this.client.getSubscriptions();
    } catch (error) {
      throw busError(error, 'listing subscriptions');
    }
    const letters = await this.listDeadLetters({ limit: MAX_LISTED });
    const dead = new Map<string, number>();
    for (const letter of letters) dead.set(letter.subscription, (dead.get(letter.subscription) ?? 0) + 1);
    return subscriptions
      .map((subscription) => ({ name: shortName(subscription.name), topic: shortName(subscription.metadata?.topic) }))
      .filter(({ name, topic }) => isTopic(topic) && name !== this.deadLetterSubscription)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map(({ name, topic }) => {
        const counter = this.counter(name);
        return {
          subscription: name,
          topic,
          pending: -1,
          inFlight: counter.inFlight,
          acked: counter.acked,
          dead: dead.get(name) ?? 0,
        };
      });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.consumers].map((consumer) => consumer.close()));
    this.consumers.clear();
    await Promise.all([...this.topicHandles.values()].map((topic) => topic.flush().catch(() => undefined)));
    if (this.subscriberClient) await (await this.subscriberClient).close();
    await this.client.close();
  }
}

function checkName(name: string): void {
  if (!NAME.test(name)) {
    throw new PermanentError(
      'BUS.BAD_NAME',
      `"${name}" is not a valid Pub/Sub name: 3..255 characters, starting with a letter, of letters, digits and - _ . ~ + %, not starting with "goog"`,
    );
  }
}

/** One subscription's streaming-pull consumer. */
class PubSubConsumer {
  private readonly inHand = new Set<Promise<void>>();
  private readonly delayedNacks = new Map<Message, NodeJS.Timeout>();
  /** Attempts per message id, for a subscription whose messages carry no `deliveryAttempt`. */
  private readonly attempts = new Map<string, number>();
  private closing = false;

  constructor(
    private readonly bus: PubSubEventBus,
    private readonly spec: SubscriptionSpec,
    private readonly handler: DeliveryHandler,
    private readonly settings: Settings,
    private readonly subscription: Subscription,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.subscription.on('message', (message: Message) => this.receive(message));
    this.subscription.on('error', (error: Error) => {
      // The client library retries what can be retried; what arrives here stopped the stream.
      this.log.error(`Pub/Sub subscription ${this.spec.name} failed: ${error.message}`, {
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
        this.log.error(`could not settle message ${message.id} on ${this.spec.name}; it will be redelivered`, {
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
    this.bus.count(this.spec.name, 'inFlight', 1);
    try {
      let event: AnyEvent;
      try {
        event = decodeMessage(wire, this.bus.maxMessageBytes);
      } catch (error) {
        await this.giveUp(message, wire, error, attempt);
        return;
      }
      try {
        await this.handler(event, delivery);
      } catch (error) {
        if (classifyError(error) === 'permanent' || attempt >= this.settings.maxAttempts)
          await this.giveUp(message, wire, error, attempt);
        else this.retryLater(message, attempt);
        return;
      }
      this.attempts.delete(message.id);
      message.ack();
      this.bus.count(this.spec.name, 'acked', 1);
    } finally {
      this.bus.count(this.spec.name, 'inFlight', -1);
    }
  }

  private async giveUp(message: Message, wire: WireMessage, error: unknown, attempt: number): Promise<void> {
    const permanent = classifyError(error) === 'permanent';
    const code = permanent ? errorCode(error) : 'BUS.MAX_ATTEMPTS';
    const reason = permanent
      ? errorMessage(error)
      : `gave up after ${attempt} attempts: [${errorCode(error)}] ${errorMessage(error)}`;
    if (this.spec.topic === DEAD_LETTER_TOPIC) {
      // Dead-lettering a dead letter would feed it back to this very subscription for ever.
      this.log.error(`dropped a message of the dead-letter topic that ${this.spec.name} could not handle: ${reason}`, {
        code,
        subscription: this.spec.name,
      });
    } else {
      await this.bus.publishDeadLetter(wire, {
        subscription: this.spec.name,
        topic: this.spec.topic,
        code,
        reason,
        attempts: attempt,
        messageId: message.id,
      });
      this.log.error(`dead-lettered message ${message.id} of ${this.spec.name}: ${reason}`, {
        code,
        subscription: this.spec.name,
        attempts: attempt,
      });
    }
    this.attempts.delete(message.id);
    message.ack();
    this.bus.count(this.spec.name, 'dead', 1);
  }

  private retryLater(message: Message, attempt: number): void {
    if (this.bus.retryBackoff === 'subscription' || this.closing) {
      message.nack();
      return;
    }
    // The client library keeps extending the lease while we hold the message.
    const timer = setTimeout(
      () => {
        this.delayedNacks.delete(message);
        message.nack();
      },
      backoffDelay(attempt, this.settings.backoff),
    );
    this.delayedNacks.set(message, timer);
  }

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
