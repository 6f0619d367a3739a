/** When a stack's worker threads may retire: their subscriptions idle (retries included) at two polls in a row. */
import { describe, expect, it } from 'vitest';
import type { SubscriptionStats } from '@mlops/kernel';
import { subscriptionsOf, untilSubscriptionsIdle } from '../src/stack/worker-retire.js';
import { TOPOLOGY } from '../src/stack/in-process.js';

const row = (subscription: string, pending: number, inFlight: number): SubscriptionStats => ({
  subscription,
  topic: 't',
  pending,
  inFlight,
  acked: 0,
  dead: 0,
});

/** A bus whose stats follow a script, one entry per poll (the last repeats). */
function scripted(polls: SubscriptionStats[][]) {
  let at = 0;
  return {
    polls: () => at,
    bus: { stats: async () => polls[Math.min(at++, polls.length - 1)]! },
  };
}

describe('untilSubscriptionsIdle', () => {
  const subs = subscriptionsOf(TOPOLOGY, ['sales-gen', 'lander']);
  const [a, b] = [...subs] as [string, string];

  it('names the subscriptions of the services in the topology', () => {
    expect(subs.size).toBe(2);
    expect([...subs].every((name) => name.startsWith('sales-gen') || name.startsWith('lander'))).toBe(true);
  });

  it('waits out pending deliveries (a due retry), leases, and a missing subscription; needs two idle polls', async () => {
    const script = scripted([
      [row(a, 0, 0)],
      [row(a, 0, 0), row(b, 1, 0)],
      [row(a, 0, 1), row(b, 0, 0)],
      [row(a, 0, 0), row(b, 0, 0), row('other', 5, 5)],
      [row(a, 1, 0), row(b, 0, 0)],
      [row(a, 0, 0), row(b, 0, 0)],
    ]);
    const idle = await untilSubscriptionsIdle(script.bus, subs, { pollMs: 1, stopped: () => false });
    expect(idle).toBe(true);
    expect(script.polls()).toBe(7);
  });

  it('gives up when stopped', async () => {
    let polls = 0;
    const bus = { stats: async () => (polls++, [row(a, 1, 0), row(b, 0, 0)]) };
    expect(await untilSubscriptionsIdle(bus, subs, { pollMs: 1, stopped: () => polls >= 3 })).toBe(false);
  });
});
