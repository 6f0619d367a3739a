import { schemaDocuments } from '../contracts/schemas.generated.js';
import type { StageFailed, Stage } from '../contracts/contracts.generated.js';
import { createEvent, deterministicId, childTraceparent, traceparentFromId } from '../events/cloud-event.js';
import type { AnyEvent } from '../events/cloud-event.js';
import { DEAD_LETTER_TOPIC, topicOf } from '../events/event-catalog.js';
import { isIsoDate } from '../events/event-validator.js';
import { recoverEnvelope, type WireMessage } from '../events/message-codec.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { Publisher } from '../ports/event-bus.port.js';
import type { Settlement } from './settlement.js';

/** The run id of a stage.failed whose cause carried none (a message too broken to name its run). */
export const UNKNOWN_RUN_ID = 'run_unknown';

const STAGES: readonly string[] = schemaDocuments['https://mlops-platform.dev/schemas/common.json'].$defs.stage.enum;
const FAILURE_TOPIC = topicOf('mlops.stage.failed.v1');

/** The stage a subscription belongs to (`<stage>.<topic>`), or undefined for another subscriber's. */
export function stageOfSubscription(subscription: string): Stage | undefined {
  const stage = subscription.slice(0, subscription.indexOf('.'));
  return STAGES.includes(stage) ? (stage as Stage) : undefined;
}

/** The payload of a stage.failed: a code the schema accepts and a reason of bounded length. */
export function stageFailedData(failure: {
  stage: Stage;
  code: string;
  reason: string;
  runDates?: readonly string[];
  causeEventId?: string;
}): StageFailed {
  return {
    stage: failure.stage,
    code: /^[A-Z_]+\.[A-Z_]+$/.test(failure.code) ? failure.code : 'INTERNAL.UNEXPECTED',
    reason: failure.reason.slice(0, 4000) || 'no reason given',
    ...(failure.runDates ? { runDates: [...failure.runDates] } : {}),
    ...(failure.causeEventId === undefined ? {} : { causeEventId: failure.causeEventId }),
  };
}

/** A message a transport has just dead-lettered, with everything known about it. */
export interface DeadLetterReport {
  subscription: string;
  topic: string;
  messageId: string;
  attempts: number;
  settlement: Extract<Settlement, { action: 'dead-letter' }>;
  message: WireMessage;
  /** The decoded event, when the message was a valid one. */
  event?: AnyEvent;
  /**
   * Whether a handler ran: then the service host has announced the failure itself, and this only
   * logs. When the message never reached a handler (it failed validation), this announces it.
   */
  handled: boolean;
}

/**
 * Log a dead letter (severity ERROR, with its code, subscription, event and run) and, when the
 * message never reached its stage's handler, publish the `stage.failed` that announces it: with the
 * run, run date and trace the message carries, or `run_unknown` and today's date where it carries
 * none. Failures of the announcement are logged, never thrown (the dead letter itself is kept).
 */
export async function reportDeadLetter(
  report: DeadLetterReport,
  deps: { publisher?: Publisher; log: Logger; now?: () => Date },
): Promise<void> {
  const recovered = report.event ?? recoverEnvelope(report.message);
  const { settlement } = report;
  deps.log.error(`dead-lettered message ${report.messageId} of ${report.subscription}: ${settlement.reason}`, {
    code: settlement.code,
    subscription: report.subscription,
    topic: report.topic,
    messageId: report.messageId,
    attempts: report.attempts,
    eventId: recovered.id,
    eventType: recovered.type,
    runId: recovered.runid ?? UNKNOWN_RUN_ID,
    runDate: recovered.rundate,
    traceparent: recovered.traceparent,
  });
  if (report.handled || !deps.publisher) return;
  const stage = stageOfSubscription(report.subscription);
  const announce =
    stage !== undefined &&
    report.topic !== FAILURE_TOPIC &&
    report.topic !== DEAD_LETTER_TOPIC &&
    recovered.type !== 'mlops.stage.failed.v1';
  if (!announce) return;
  const causeId = recovered.id ?? `${report.subscription}/${report.messageId}`;
  const runDate = isIsoDate(recovered.rundate) ? recovered.rundate : undefined;
  const subject = `failed/${stage}`;
  const id = deterministicId(causeId, 'mlops.stage.failed.v1', subject);
  const event = createEvent(
    'mlops.stage.failed.v1',
    stageFailedData({
      stage,
      code: settlement.code,
      reason: settlement.reason,
      ...(runDate ? { runDates: [runDate] } : {}),
      ...(recovered.id ? { causeEventId: recovered.id } : {}),
    }),
    {
      source: `//mlops/${stage}`,
      runid: recovered.runid ?? UNKNOWN_RUN_ID,
      rundate: runDate ?? (deps.now?.() ?? new Date()).toISOString().slice(0, 10),
      traceparent: childTraceparent(recovered.traceparent ?? traceparentFromId(causeId), id),
      subject,
      id,
    },
  );
  try {
    await deps.publisher.publish(event);
  } catch (error) {
    deps.log.error('could not publish stage.failed for a dead letter', {
      subscription: report.subscription,
      messageId: report.messageId,
      error: errorMessage(error),
    });
  }
}
