/**
 * Poison messages, published with the official client as another publisher would, and what the
 * platform announces for them:
 *
 * - too large: a `sales.generated` of 400 kB, above what a service's HTTP listener reads. Every
 *   push is refused (413), Pub/Sub pushes again until its dead-letter policy's attempts are spent
 *   and forwards it to `dead-letter`, and the relay announces one `stage.failed` per dead-lettered
 *   subscription with the message's run id and the attempts Pub/Sub counted.
 * - invalid: a `sales.generated` whose data breaks its schema. The runtime dead-letters it on its
 *   first delivery and announces it itself (the relay sees it is announced already).
 */
import { randomUUID } from 'node:crypto';
import type { Message, PubSub } from '@google-cloud/pubsub';
import { newRunId, traceparentFromId } from '@mlops/kernel';

/** A `stage.failed` as it arrived on the `stage-failed` topic. */
export interface ObservedFailure {
  runid: string;
  data: { stage: string; code: string; reason: string; details?: Record<string, unknown> };
}

/** Collects every `stage.failed` from a pull subscription of its own (created before anything runs). */
export async function observeFailures(
  pubsub: PubSub,
): Promise<{ failures: ObservedFailure[]; close(): Promise<void> }> {
  const [subscription] = await pubsub.topic('stage-failed').createSubscription('rehearsal.stage-failed-observer');
  const failures: ObservedFailure[] = [];
  subscription.on('message', (message: Message) => {
    try {
      failures.push({
        runid: message.attributes['ce-runid'] ?? '',
        data: JSON.parse(message.data.toString('utf8')) as ObservedFailure['data'],
      });
    } finally {
      message.ack();
    }
  });
  return { failures, close: () => subscription.close() };
}

/** One poison message: what was published and how to recognise its announcements. */
export interface Poison {
  kind: 'too-large' | 'invalid';
  runid: string;
  eventId: string;
}

/** Publish a poison `sales.generated` (the lander's topic) with the Pub/Sub binding's attributes. */
export async function publishPoison(pubsub: PubSub, kind: Poison['kind'], runDate: string): Promise<Poison> {
  const runid = newRunId(runDate);
  const eventId = randomUUID();
  const valid = { runDate, collection: 'sales', documentCount: 1, dirtyCount: 0, seed: 1, scale: 1 };
  const data =
    kind === 'too-large'
      ? { ...valid, padding: 'x'.repeat(400 * 1024) }
      : { ...valid, runDate: 'the day after tomorrow', documentCount: -1 };
  await pubsub.topic('sales-generated').publishMessage({
    data: Buffer.from(JSON.stringify(data)),
    attributes: {
      'ce-specversion': '1.0',
      'ce-id': eventId,
      'ce-type': 'mlops.sales.generated.v1',
      'ce-source': '//rehearsal/poison',
      'ce-time': new Date().toISOString(),
      'ce-runid': runid,
      'ce-rundate': runDate,
      'ce-traceparent': traceparentFromId(eventId),
      'content-type': 'application/json',
    },
  });
  return { kind, runid, eventId };
}
