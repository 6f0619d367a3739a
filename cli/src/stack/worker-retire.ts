import { subscriptionName, topicOf, type EventBus, type EventType } from '@mlops/kernel';

/** The subscriptions of some services in a topology (service name -> event types it consumes). */
export function subscriptionsOf(
  topology: Readonly<Record<string, readonly EventType[]>>,
  services: readonly string[],
): Set<string> {
  return new Set(
    services.flatMap((service) => (topology[service] ?? []).map((type) => subscriptionName(service, topicOf(type)))),
  );
}

/**
 * Resolves true once none of the subscriptions has anything pending (due retries included) or in
 * flight at two polls in a row, false if `stopped` says so first. Only meaningful once every event
 * those subscriptions will get has been published or will be published by their own consumers.
 */
export async function untilSubscriptionsIdle(
  bus: Pick<EventBus, 'stats'>,
  subscriptions: ReadonlySet<string>,
  options: { pollMs: number; stopped: () => boolean },
): Promise<boolean> {
  let streak = 0;
  while (!options.stopped()) {
    const stats = (await bus.stats()).filter((s) => subscriptions.has(s.subscription));
    const idle = stats.length === subscriptions.size && stats.every((s) => s.pending <= 0 && s.inFlight === 0);
    streak = idle ? streak + 1 : 0;
    if (streak >= 2) return true;
    await new Promise((resolve) => setTimeout(resolve, options.pollMs));
  }
  return false;
}
