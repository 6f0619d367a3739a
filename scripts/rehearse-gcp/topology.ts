/**
 * The Pub/Sub topology `infra/events.tf` creates, on the emulator: one topic per event type, the
 * dead-letter topic with its listing subscription, the completion topics of the log sinks, and per
 * Eventarc trigger (service, topic) a push subscription named as Eventarc names it, with a 600 s ack
 * deadline, a retry policy and the dead-letter policy `gcloud pubsub subscriptions update` sets
 * (the dead-letter handler's own subscription has none, so it cannot loop).
 */
import type { PubSub } from '@google-cloud/pubsub';
import { DEAD_LETTER_TOPIC, topics } from '@mlops/kernel';
import type { EventarcForwarder } from './eventarc-forwarder.js';

/** The completion topics fed by Cloud Logging sinks. */
export const COMPLETION_TOPICS = ['dataform-completions', 'vertex-completions'] as const;

/** One Eventarc trigger: a service and a topic it consumes. */
export interface Trigger {
  service: string;
  topic: string;
}

/** The triggers of `infra/main.tf`'s `local.services`, for the services the rehearsal runs. */
export function triggersOf(services: readonly string[]): Trigger[] {
  const consumes: Record<string, readonly string[]> = {
    'sales-gen': ['pipeline-start'],
    'click-gen': ['pipeline-start'],
    'startup-gen': ['pipeline-start'],
    lander: ['sales-generated'],
    transformer: ['bronze-landed', 'dataform-completions'],
    trainer: ['warehouse-ready', 'stage-failed', 'vertex-completions'],
    // The dashboard records every event in the run ledger.
    dashboard: topics.filter((topic) => topic !== DEAD_LETTER_TOPIC).sort(),
    'dead-letters': [DEAD_LETTER_TOPIC],
  };
  return services.flatMap((service) => (consumes[service] ?? []).map((topic) => ({ service, topic })));
}

/** The subscription Eventarc creates for a trigger named `<service>-<topic>`. */
export function eventarcSubscription(region: string, trigger: Trigger): string {
  return `eventarc-${region}-${trigger.service}-${trigger.topic}-sub-001`;
}

/** Options of {@link createTopology}. */
export interface TopologyOptions {
  region: string;
  maxDeliveryAttempts: number;
  /** Each service's HTTP address. */
  targets: Record<string, string>;
  forwarder: EventarcForwarder;
  /** Pub/Sub's retry backoff; Terraform sets 10 s to 600 s, a rehearsal shortens it. */
  retry: { minimumBackoffSeconds: number; maximumBackoffSeconds: number };
}

/** Create every topic and subscription; resolves to the triggers' subscription names. */
export async function createTopology(
  pubsub: PubSub,
  triggers: readonly Trigger[],
  options: TopologyOptions,
): Promise<Map<string, Trigger>> {
  for (const name of new Set<string>([...topics, DEAD_LETTER_TOPIC, ...COMPLETION_TOPICS]))
    await pubsub.topic(name).get({ autoCreate: true });
  const deadLetter = pubsub.topic(DEAD_LETTER_TOPIC);
  await deadLetter.createSubscription('dead-letter.listing', {
    ackDeadlineSeconds: 60,
    retainAckedMessages: true,
    messageRetentionDuration: { seconds: 604_800 },
  });
  const subscriptions = new Map<string, Trigger>();
  for (const trigger of triggers) {
    const name = eventarcSubscription(options.region, trigger);
    const target = options.targets[trigger.service];
    if (!target) throw new Error(`no address for ${trigger.service}`);
    options.forwarder.route(name, { target, topic: trigger.topic });
    await pubsub.topic(trigger.topic).createSubscription(name, {
      pushConfig: { pushEndpoint: options.forwarder.endpoint(name) },
      ackDeadlineSeconds: 600,
      retryPolicy: {
        minimumBackoff: { seconds: options.retry.minimumBackoffSeconds },
        maximumBackoff: { seconds: options.retry.maximumBackoffSeconds },
      },
      ...(trigger.topic === DEAD_LETTER_TOPIC
        ? {}
        : { deadLetterPolicy: { deadLetterTopic: deadLetter.name, maxDeliveryAttempts: options.maxDeliveryAttempts } }),
    });
    subscriptions.set(name, trigger);
  }
  return subscriptions;
}
