import { PubSub, v1 } from '@google-cloud/pubsub';
import {
  PermanentError,
  PlatformError,
  TransientError,
  errorMessage,
  DEAD_LETTER_TOPIC,
  DEFAULT_MAX_MESSAGE_BYTES,
  silentLogger,
  type Logger,
  type SubscriptionSpec,
  REDRIVE_SUBSCRIPTION_ATTRIBUTE,
} from '@mlops/kernel';

/** How redelivery backoff is applied after a transient failure. */
export type RetryBackoffMode = 'subscription' | 'client';

/** Options of the Pub/Sub event bus. */
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

/** A subscription's effective retry settings and concurrency. */
export interface Settings {
  maxAttempts: number;
  backoff: { minMs: number; maxMs: number };
  concurrency: number;
}

/** Attributes a dead letter carries besides the original ones (the same names as the local bus). */
export const DEAD_LETTER_PREFIX = 'x-dead-letter-';
/** Attributes Pub/Sub adds when its own dead-letter policy forwards a message. */
export const POLICY_PREFIX = 'CloudPubSubDeadLetterSource';
export const ALREADY_EXISTS = 6;
// On Google Cloud the topics and the listing subscription belong to the deployment (infra/), and a
// service may publish but not create: a creation it may not make is left to the deployment, and a
// publish to a topic that does not exist still fails on its own.
export const PERMISSION_DENIED = 7;
export const NOT_FOUND = 5;
export const RETENTION_SECONDS = 7 * 24 * 3600;

const NAME = /^(?!goog)[A-Za-z][A-Za-z0-9\-_.~+%]{2,254}$/;
// CANCELLED, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED, INTERNAL, UNAVAILABLE
const TRANSIENT_GRPC_CODES = new Set([1, 4, 8, 10, 13, 14]);

/** The gRPC status code of a client library error. */
export function grpcCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** A Pub/Sub failure as a platform error: transient for the gRPC codes that may pass, permanent otherwise. */
export function busError(error: unknown, action: string): PlatformError {
  if (error instanceof PlatformError) return error;
  const code = grpcCode(error);
  const message = `Pub/Sub ${action} failed: ${errorMessage(error)}`;
  if (code === undefined || TRANSIENT_GRPC_CODES.has(code))
    return new TransientError('BUS.UNAVAILABLE', message, { cause: error, details: { grpcCode: code } });
  return new PermanentError('BUS.REJECTED', message, { cause: error, details: { grpcCode: code } });
}

/** The last segment of a resource path (`projects/p/topics/t` → `t`). */
export function shortName(path: string | null | undefined): string {
  return (path ?? '').split('/').pop() ?? '';
}

/** Attributes of the message as it was first published, without what dead-lettering and redrive added. */
export function originalAttributes(attributes: Record<string, string>): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [key, value] of Object.entries(attributes)) {
    if (key.startsWith(DEAD_LETTER_PREFIX) || key.startsWith(POLICY_PREFIX) || key === REDRIVE_SUBSCRIPTION_ATTRIBUTE)
      continue;
    result[key] = value;
  }
  return result;
}

/** Refuse a name Pub/Sub would refuse, with the rule. */
export function checkName(name: string): void {
  if (!NAME.test(name)) {
    throw new PermanentError(
      'BUS.BAD_NAME',
      `"${name}" is not a valid Pub/Sub name: 3..255 characters, starting with a letter, of letters, digits and - _ . ~ + %, not starting with "goog"`,
    );
  }
}

/**
 * What every part of the Pub/Sub bus shares: the client, the project, the settings, the counts of
 * what this process settled (Pub/Sub keeps no such counts) and whether the bus is closed.
 */
export class PubSubContext {
  readonly projectId: string;
  readonly emulator: boolean;
  readonly client: PubSub;
  readonly maxMessageBytes: number;
  readonly retryBackoff: RetryBackoffMode;
  readonly deadLetterSubscription: string;
  readonly defaults: { maxAttempts: number; backoff: { minMs: number; maxMs: number } };
  readonly ackDeadlineSeconds: number;
  readonly publishBatching: { maxMessages?: number; maxMilliseconds?: number } | undefined;
  readonly log: Logger;
  closed = false;
  private readonly counters = new Map<string, { acked: number; dead: number; inFlight: number }>();
  private readonly subscriptionTopics = new Map<string, string>();
  private subscriberClient: Promise<InstanceType<typeof v1.SubscriberClient>> | undefined;

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

  topicPath(topic: string): string {
    return `projects/${this.projectId}/topics/${topic}`;
  }

  subscriptionPath(name: string): string {
    return `projects/${this.projectId}/subscriptions/${name}`;
  }

  /** A subscription's settings: its own, or the bus's defaults. */
  settingsOf(spec: SubscriptionSpec): Settings {
    return {
      maxAttempts: Math.max(1, spec.maxAttempts ?? this.defaults.maxAttempts),
      backoff: spec.backoff ?? this.defaults.backoff,
      concurrency: Math.max(1, spec.concurrency ?? 1),
    };
  }

  /** What this process settled on a subscription. */
  counter(subscription: string): { acked: number; dead: number; inFlight: number } {
    let counter = this.counters.get(subscription);
    if (!counter) this.counters.set(subscription, (counter = { acked: 0, dead: 0, inFlight: 0 }));
    return counter;
  }

  count(subscription: string, what: 'acked' | 'dead' | 'inFlight', delta: number): void {
    this.counter(subscription)[what] += delta;
  }

  /** Remember a subscription's topic (known when it was created here). */
  knowTopic(subscription: string, topic: string): void {
    this.subscriptionTopics.set(subscription, topic);
  }

  /** The topic of a subscription, or `unknown` when it does not exist. */
  async topicOfSubscription(name: string): Promise<string> {
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

  /** The GAPIC subscriber client (pull, acknowledge) with the same endpoint, credentials and project. */
  subscriber(): Promise<InstanceType<typeof v1.SubscriberClient>> {
    this.subscriberClient ??= this.client
      .getClientConfig()
      .then((config) => new v1.SubscriberClient(config as ConstructorParameters<typeof v1.SubscriberClient>[0]));
    return this.subscriberClient;
  }

  /** Release the clients. */
  async close(): Promise<void> {
    if (this.subscriberClient) await (await this.subscriberClient).close();
    await this.client.close();
  }
}
