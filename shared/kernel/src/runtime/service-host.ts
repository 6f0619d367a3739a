import type { AnyEvent, CloudEvent } from '../events/cloud-event.js';
import { followUp } from '../events/cloud-event.js';
import { topicOf, type EventType, type Topic } from '../events/event-catalog.js';
import { PermanentError, classifyError, errorCode, errorMessage } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { Delivery, Publisher, Subscriber, SubscriptionHandle, SubscriptionSpec } from '../ports/event-bus.port.js';
import { stageFailedData } from './dead-letters.js';
import { settle } from './settlement.js';
import type { HandlerContext, Service } from './service.js';
import { subscriptionName } from './service.js';

/** The topics a service listens to, each once. */
export function topicsOf(service: Service): Topic[] {
  return [...new Set(service.consumes.map((type) => topicOf(type)))];
}

/** The subscriptions a service needs, with the bus's retry settings. */
export function subscriptionsOf(
  service: Service,
  settings: Pick<SubscriptionSpec, 'maxAttempts' | 'backoff'> = {},
): SubscriptionSpec[] {
  return topicsOf(service).map((topic) => ({
    name: subscriptionName(service.name, topic),
    topic,
    ...settings,
    concurrency: service.concurrency ?? 1,
  }));
}

/**
 * Run one delivery through a service: check the type is one it consumes, give it a context whose
 * `emit` publishes follow-up events of the same run, and when it fails for good (the settlement
 * rule says dead letter: a permanent error, or a transient one on the last attempt) announce
 * `stage.failed` with the reason (unless the failing event is itself a failure). The error is
 * rethrown either way, for the transport to settle.
 */
export async function dispatch(
  service: Service,
  event: AnyEvent,
  delivery: Delivery,
  publisher: Publisher,
  log: Logger,
  /** The subscription's attempt limit: its last attempt's failure is final (unset: only permanent errors are). */
  maxAttempts?: number,
): Promise<void> {
  const scoped = log.child({
    service: service.name,
    eventId: event.id,
    eventType: event.type,
    runId: event.runid,
    runDate: event.rundate,
    traceparent: event.traceparent,
    attempt: delivery.attempt,
  });
  const handlingStart = new Date();
  const context: HandlerContext = {
    log: scoped,
    delivery,
    emit: async <K extends EventType>(
      type: K,
      data: CloudEvent<K>['data'],
      options: { subject?: string; rundate?: string } = {},
    ) => {
      const next = followUp(event, type, data, {
        source: `//mlops/${service.name}`,
        handlingStart,
        ...(options.subject === undefined ? {} : { subject: options.subject }),
        ...(options.rundate === undefined ? {} : { rundate: options.rundate }),
      });
      await publisher.publish(next as AnyEvent);
      scoped.info(`emitted ${type}`, { emittedId: next.id, subject: options.subject });
      return next;
    },
  };
  const started = performance.now();
  try {
    if (!service.consumes.includes(event.type)) {
      throw new PermanentError(
        'SERVICE.UNEXPECTED_EVENT',
        `${service.name} does not handle ${event.type}; it handles ${service.consumes.join(', ')}`,
      );
    }
    await service.handle(event, context);
    scoped.info(`handled ${event.type}`, { durationMs: Math.round(performance.now() - started) });
  } catch (error) {
    const kind = classifyError(error);
    scoped[kind === 'permanent' ? 'error' : 'warning'](`failed to handle ${event.type}: ${errorMessage(error)}`, {
      code: errorCode(error),
      errorClass: kind,
      durationMs: Math.round(performance.now() - started),
    });
    // The stage has failed for good when the transport will dead-letter this delivery.
    const settlement = settle({ ok: false, error }, delivery.attempt, { maxAttempts });
    if (settlement.action === 'dead-letter' && event.type !== 'mlops.stage.failed.v1') {
      await context
        .emit(
          'mlops.stage.failed.v1',
          stageFailedData({
            stage: service.name,
            code: settlement.cause,
            reason: settlement.reason,
            runDates: [event.rundate],
            causeEventId: event.id,
          }),
          { subject: `failed/${service.name}` },
        )
        .catch((publishError: unknown) =>
          scoped.error('could not publish stage.failed', { error: errorMessage(publishError) }),
        );
    }
    throw error;
  }
}

/** A service hosted on a bus: its subscriptions, until closed. */
export interface HostedService {
  readonly service: Service;
  readonly subscriptions: readonly SubscriptionHandle[];
  close(): Promise<void>;
}

/**
 * Host a service on an event bus: subscribe it to every topic it consumes. On the embedded SQLite
 * bus this is the in-process host; on the Pub/Sub bus it is a pull worker.
 */
export async function hostService(
  service: Service,
  options: {
    /** Where the service's subscriptions are consumed and its follow-ups published. */
    bus: Publisher & Subscriber;
    log: Logger;
    settings?: Pick<SubscriptionSpec, 'maxAttempts' | 'backoff'>;
  },
): Promise<HostedService> {
  const handles: SubscriptionHandle[] = [];
  for (const spec of subscriptionsOf(service, options.settings)) {
    handles.push(
      await options.bus.subscribe(spec, (event, delivery) =>
        dispatch(service, event, delivery, options.bus, options.log, spec.maxAttempts),
      ),
    );
  }
  options.log.info(`${service.name} listening`, { service: service.name, subscriptions: handles.map((h) => h.name) });
  return {
    service,
    subscriptions: handles,
    close: async () => {
      await Promise.all(handles.map((handle) => handle.close()));
    },
  };
}
