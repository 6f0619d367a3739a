import {
  PermanentError,
  isTopic,
  type Topic,
  type ReplayResult,
  type SubscriptionAdmin,
  type SubscriptionSpec,
  type SubscriptionStats,
} from '@mlops/kernel';
import { NOT_FOUND, busError, grpcCode, shortName, type PubSubContext } from './pubsub-bus.context.js';
import { MAX_LISTED, type PubSubDeadLetters } from './pubsub-bus.dead-letters.js';
import type { PubSubProvisioning } from './pubsub-bus.provisioning.js';

/** Subscriptions on Pub/Sub as an operator sees them: created, rewound, counted. */
export class PubSubSubscriptions implements SubscriptionAdmin {
  constructor(
    private readonly context: PubSubContext,
    private readonly provisioning: PubSubProvisioning,
    private readonly deadLetters: PubSubDeadLetters,
  ) {}

  ensureSubscription(spec: SubscriptionSpec): Promise<void> {
    return this.provisioning.ensureSubscription(spec);
  }

  /**
   * Replay by rewinding subscriptions with Pub/Sub's seek to a time, which the emulator supports:
   * every retained message published since `since` is marked unacknowledged and delivered again
   * (subscriptions created here retain acknowledged messages for 7 days). Two differences from the
   * local bus follow from seek: messages published before `since` that were still unacknowledged
   * become acknowledged, and Pub/Sub does not say how many messages came back, so this resolves to
   * the number of subscriptions rewound and no delivery count.
   */
  async replay(options: { topic: Topic; since: Date; subscription?: string }): Promise<ReplayResult> {
    if (!isTopic(options.topic)) throw new PermanentError('BUS.UNKNOWN_TOPIC', `unknown topic "${options.topic}"`);
    const { client } = this.context;
    let names: string[];
    if (options.subscription !== undefined) {
      const topic = await this.context.topicOfSubscription(options.subscription);
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
        const [subscriptions] = await client.topic(options.topic).getSubscriptions();
        names = subscriptions
          .map((subscription) => shortName(subscription.name))
          .filter((name) => name !== this.context.deadLetterSubscription);
      } catch (error) {
        if (grpcCode(error) === NOT_FOUND) return { subscriptions: 0, deliveries: undefined };
        throw busError(error, `listing subscriptions of ${options.topic}`);
      }
    }
    for (const name of names) {
      try {
        await client.subscription(name).seek(options.since);
      } catch (error) {
        throw busError(error, `seeking ${name} to ${options.since.toISOString()}`);
      }
    }
    return { subscriptions: names.length, deliveries: undefined };
  }

  /**
   * What is knowable: the subscriptions on platform topics, dead letters waiting per subscription
   * (from the listing subscription), and what this process acknowledged and holds. Pub/Sub reports
   * backlog only through Cloud Monitoring, so `pending` is -1 (unknown).
   */
  async stats(): Promise<SubscriptionStats[]> {
    let subscriptions;
    try {
      [subscriptions] = await this.context.client.getSubscriptions();
    } catch (error) {
      throw busError(error, 'listing subscriptions');
    }
    const letters = await this.deadLetters.listDeadLetters({ limit: MAX_LISTED });
    const dead = new Map<string, number>();
    for (const letter of letters) dead.set(letter.subscription, (dead.get(letter.subscription) ?? 0) + 1);
    return subscriptions
      .map((subscription) => ({ name: shortName(subscription.name), topic: shortName(subscription.metadata?.topic) }))
      .filter(({ name, topic }) => isTopic(topic) && name !== this.context.deadLetterSubscription)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map(({ name, topic }) => {
        const counter = this.context.counter(name);
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
}
