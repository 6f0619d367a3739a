/** @mlops/adapters-gcp/pubsub: Pub/Sub: the event bus of the emulator and gcp modes. */
export {
  PubSubEventBus,
  REDRIVE_SUBSCRIPTION_ATTRIBUTE,
  type PubSubEventBusOptions,
  type RetryBackoffMode,
} from './pubsub-event-bus.adapter.js';
