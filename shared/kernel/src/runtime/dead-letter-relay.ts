import { createEvent, deterministicId, childTraceparent, traceparentFromId } from '../events/cloud-event.js';
import { DEAD_LETTER_TOPIC, topics } from '../events/event-catalog.js';
import { isIsoDate } from '../events/event-validator.js';
import { recoverEnvelope, type WireMessage } from '../events/message-codec.js';
import { deadLetterForm, excerptInfo } from '../events/message-excerpt.js';
import { PermanentError, TransientError, classifyError, errorCode, errorMessage } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { DocumentStore } from '../ports/document-store.port.js';
import type { Publisher } from '../ports/event-bus.port.js';
import type { Stage } from '../contracts/contracts.generated.js';
import { UNKNOWN_RUN_ID, stageFailedData, stageOfSubscription } from './dead-letters.js';
import { PUBSUB_MESSAGE_PUBLISHED, unwrapPush, type IncomingCloudEvent, type PushOutcome } from './eventarc.js';

/** Collection of the dead letters the relay has announced, one document per dead letter's message id. */
export const RELAY_COLLECTION = 'dead_letter_relay';

/** The code of a `stage.failed` for a message Pub/Sub dead-lettered after its delivery attempts. */
export const DELIVERY_EXHAUSTED_CODE = 'BUS.DELIVERY_EXHAUSTED';

/** Attributes Pub/Sub's dead-letter policy adds to the message it forwards. */
export const PUBSUB_DEAD_LETTER_ATTRIBUTES = {
  subscription: 'CloudPubSubDeadLetterSourceSubscription',
  project: 'CloudPubSubDeadLetterSourceSubscriptionProject',
  deliveryCount: 'CloudPubSubDeadLetterSourceDeliveryCount',
  publishTime: 'CloudPubSubDeadLetterSourceTopicPublishTime',
} as const;

/** Bytes of the dead letter's data a `stage.failed` carries (the runtime's excerpt). */
const EXCERPT_LIMIT = 4096;

/** Topics a subscription name may end in: the events', and the completion topics of the log sinks. */
const KNOWN_TOPICS = [...topics, 'dataform-completions', 'vertex-completions'];
const STAGE_NAMES = (
  ['sales-gen', 'click-gen', 'startup-gen', 'lander', 'transformer', 'trainer', 'dashboard'] as const
)
  // Longest first, so `startup-gen` is not read as a shorter stage's suffix.
  .slice()
  .sort((a, b) => b.length - a.length);

/**
 * The stage a dead-lettered subscription belongs to: the runtime's `<stage>.<topic>`, or an
 * Eventarc trigger's subscription `eventarc-<region>-<stage>-<topic>-sub-<n>` (triggers are named
 * `<service>-<topic>`). Undefined for any other subscriber's.
 */
export function stageOfDeadLetterSubscription(subscription: string): Stage | undefined {
  const name = subscription.split('/').pop() ?? '';
  const direct = stageOfSubscription(name);
  if (direct) return direct;
  for (const stage of STAGE_NAMES)
    for (const topic of KNOWN_TOPICS) if (name.includes(`-${stage}-${topic}-sub-`)) return stage;
  return undefined;
}

/** What the relay did with one dead letter. */
export type RelayResult =
  | { status: 'announced'; eventId: string; stage: Stage }
  | { status: 'duplicate' | 'runtime-announced' | 'not-a-policy-dead-letter' | 'unknown-stage' | 'failure-event' };

/** What {@link relayDeadLetter} needs. */
export interface RelayDeps {
  /** Where `stage.failed` goes (only there: the relay never publishes to `dead-letter`). */
  publisher: Publisher;
  /** Remembers which dead letters were announced. */
  documents: DocumentStore;
  log: Logger;
  now?: () => Date;
}

function documentId(messageId: string): string {
  return `m_${messageId.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 200)}`;
}

function excerptOf(message: WireMessage): Record<string, unknown> {
  const kept = deadLetterForm(message, EXCERPT_LIMIT);
  const data = Buffer.from(kept.data);
  const text = data.toString('utf8');
  const info = excerptInfo(kept);
  return {
    attributes: kept.attributes,
    ...(Buffer.from(text, 'utf8').equals(data) ? { data: text } : { dataBase64: data.toString('base64') }),
    ...(info ? { excerptOf: info } : {}),
  };
}

/**
 * Turn one message that Pub/Sub's dead-letter policy forwarded into the `stage.failed` the runtime
 * could not publish itself (Eventarc's push carries no delivery attempt, so a handler never knows
 * its last one): the source subscription's stage, `BUS.DELIVERY_EXHAUSTED`, the attempts Pub/Sub
 * counted, the run the message names (or `run_unknown`), and a bounded excerpt of the message.
 *
 * Once per dead letter: a dead letter already announced (its message id is in
 * {@link RELAY_COLLECTION}) is skipped, and the event id derives from the subscription and the
 * original event, so the same message dead-lettered twice announces one event id. Never a loop:
 * dead letters the runtime already announced (`x-dead-letter-*`) and dead letters of failure events
 * themselves are only logged, and the relay publishes nothing but `stage.failed`.
 */
export async function relayDeadLetter(message: WireMessage, messageId: string, deps: RelayDeps): Promise<RelayResult> {
  const attributes = message.attributes;
  const log = deps.log.child({ messageId });
  if (attributes['x-dead-letter-code'] !== undefined) {
    log.debug('dead letter already announced by the runtime', { code: attributes['x-dead-letter-code'] });
    return { status: 'runtime-announced' };
  }
  const subscription = attributes[PUBSUB_DEAD_LETTER_ATTRIBUTES.subscription];
  if (!subscription) {
    log.warning('a message on the dead-letter topic without Pub/Sub dead-letter attributes; not announced', {
      attributes: Object.keys(attributes).slice(0, 20),
    });
    return { status: 'not-a-policy-dead-letter' };
  }
  const attempts = Number(attributes[PUBSUB_DEAD_LETTER_ATTRIBUTES.deliveryCount] ?? Number.NaN);
  const recovered = recoverEnvelope(message);
  const fields = {
    subscription,
    attempts: Number.isFinite(attempts) ? attempts : undefined,
    eventId: recovered.id,
    eventType: recovered.type,
    runId: recovered.runid ?? UNKNOWN_RUN_ID,
  };
  const stage = stageOfDeadLetterSubscription(subscription);
  if (!stage) {
    log.error(`dead letter of subscription ${subscription}, which belongs to no stage; not announced`, {
      code: 'DLQ.UNKNOWN_SUBSCRIPTION',
      ...fields,
    });
    return { status: 'unknown-stage' };
  }
  if (recovered.type === 'mlops.stage.failed.v1' || subscription.endsWith(`.${DEAD_LETTER_TOPIC}`)) {
    log.error(`dead letter of a failure announcement on ${subscription}; not announced again`, {
      code: DELIVERY_EXHAUSTED_CODE,
      ...fields,
    });
    return { status: 'failure-event' };
  }
  const id = documentId(messageId);
  if (await deps.documents.get(RELAY_COLLECTION, id)) {
    log.info('dead letter already relayed', fields);
    return { status: 'duplicate' };
  }

  const causeId = recovered.id ?? `message/${messageId}`;
  const subject = `failed/${stage}`;
  const eventId = deterministicId('dead-letter', subscription, causeId, 'mlops.stage.failed.v1');
  const now = deps.now?.() ?? new Date();
  const runDate = isIsoDate(recovered.rundate) ? recovered.rundate : undefined;
  const counted = fields.attempts === undefined ? 'its delivery attempts' : `${fields.attempts} delivery attempts`;
  const details = {
    subscription,
    ...(fields.attempts === undefined ? {} : { deliveryAttempts: fields.attempts }),
    deadLetterMessageId: messageId,
    ...(attributes[PUBSUB_DEAD_LETTER_ATTRIBUTES.publishTime]
      ? { publishedAt: attributes[PUBSUB_DEAD_LETTER_ATTRIBUTES.publishTime] }
      : {}),
    message: excerptOf(message),
  };
  const event = createEvent(
    'mlops.stage.failed.v1',
    {
      ...stageFailedData({
        stage,
        code: DELIVERY_EXHAUSTED_CODE,
        reason: `Pub/Sub dead-lettered ${recovered.type ?? 'a message'} on ${subscription} after ${counted}: the handler never acknowledged it`,
        ...(runDate ? { runDates: [runDate] } : {}),
        ...(recovered.id ? { causeEventId: recovered.id } : {}),
      }),
      details,
    },
    {
      source: '//mlops/dead-letters',
      runid: recovered.runid ?? UNKNOWN_RUN_ID,
      rundate: runDate ?? now.toISOString().slice(0, 10),
      traceparent: childTraceparent(recovered.traceparent ?? traceparentFromId(causeId), eventId),
      subject,
      id: eventId,
      time: now,
    },
  );
  if (recovered.id) event.causationid = recovered.id;
  try {
    await deps.publisher.publish(event);
  } catch (error) {
    if (classifyError(error) === 'permanent') throw error;
    throw new TransientError('DLQ.PUBLISH_FAILED', `could not publish stage.failed: ${errorMessage(error)}`, {
      cause: error,
    });
  }
  await deps.documents.upsertBatch(RELAY_COLLECTION, [
    {
      id,
      data: { messageId, subscription, stage, eventId, runId: event.runid, relayedAt: now.toISOString() },
    },
  ]);
  log.error(`dead letter of ${subscription} announced as stage.failed`, { ...fields, emittedId: eventId });
  return { status: 'announced', eventId, stage };
}

/**
 * One push to the relay (Eventarc's `messagePublished`, or a plain push body): unwrap the Pub/Sub
 * message and relay it. A transient failure asks Pub/Sub to push again; anything else is answered
 * with success, since the relay's own subscription has no dead-letter topic.
 */
export async function relayPush(incoming: IncomingCloudEvent, deps: RelayDeps): Promise<PushOutcome> {
  try {
    if (incoming.type !== PUBSUB_MESSAGE_PUBLISHED)
      throw new PermanentError(
        'DLQ.NOT_A_DEAD_LETTER',
        `the relay receives Pub/Sub messages of the dead-letter topic, not ${String(incoming.type)}`,
      );
    const { message, delivery } = unwrapPush(incoming);
    await relayDeadLetter(message, delivery.messageId, deps);
    return { status: 'handled' };
  } catch (error) {
    const code = errorCode(error);
    if (classifyError(error) === 'transient') {
      deps.log.warning(`relaying a dead letter failed, asking for redelivery: ${errorMessage(error)}`, { code });
      return { status: 'retry', code, reason: errorMessage(error) };
    }
    deps.log.error(`refused a push to the dead-letter relay: ${errorMessage(error)}`, { code });
    return { status: 'dead-lettered', code, reason: errorMessage(error) };
  }
}
