import { cloudEvent, type CloudEventFunction } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { TransientError, errorCode, errorMessage } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { EventBus } from '../ports/event-bus.port.js';
import {
  PUBSUB_MESSAGE_PUBLISHED,
  handlePushDelivery,
  type IncomingCloudEvent,
  type PushOutcome,
} from '../runtime/eventarc.js';
import { subscriptionName, type Service } from '../runtime/service.js';
import { REDRIVE_SUBSCRIPTION_ATTRIBUTE } from './pubsub-event-bus.adapter.js';

/** What a service hosted as a CloudEvent function needs. */
export interface CloudEventFunctionOptions {
  /** Where follow-up events and dead letters go (the Pub/Sub bus in Google Cloud). */
  bus: Pick<EventBus, 'publish' | 'deadLetter'>;
  log: Logger;
  /** Deliveries before a transient failure is dead-lettered instead of retried. */
  maxAttempts: number;
  maxMessageBytes: number;
  /** Name the function is registered under, the framework's `--target` (default: the service name). */
  functionName?: string;
}

function redriveTarget(incoming: IncomingCloudEvent): string | undefined {
  if (incoming.type !== PUBSUB_MESSAGE_PUBLISHED) return undefined;
  const data = incoming.data as { message?: { attributes?: Record<string, unknown> } } | undefined;
  const target =
    typeof data === 'object' && data !== null ? data.message?.attributes?.[REDRIVE_SUBSCRIPTION_ATTRIBUTE] : undefined;
  return typeof target === 'string' ? target : undefined;
}

function topicOfSource(source: unknown): string {
  return /\/topics\/([^/]+)$/.exec(typeof source === 'string' ? source : '')?.[1] ?? 'unknown';
}

/**
 * The CloudEvent function of a service: it unwraps an Eventarc delivery with
 * {@link handlePushDelivery} and maps the outcome to the HTTP answer Eventarc acts on. Handled or
 * dead-lettered: resolve, so the framework answers 2xx and Pub/Sub stops pushing. Retry: throw, so
 * the framework answers 500 and Pub/Sub pushes again with the subscription's backoff.
 */
export function cloudEventFunction(
  service: Service,
  options: CloudEventFunctionOptions,
): (incoming: IncomingCloudEvent) => Promise<void> {
  const deps = {
    bus: options.bus,
    log: options.log,
    maxAttempts: options.maxAttempts,
    maxMessageBytes: options.maxMessageBytes,
  };
  return async (incoming) => {
    // A redrive addressed to another subscription of the topic (see the Pub/Sub bus): not ours.
    const target = redriveTarget(incoming);
    if (target !== undefined && target !== subscriptionName(service.name, topicOfSource(incoming.source))) {
      options.log.debug('skipped a redrive meant for another subscription', { service: service.name, target });
      return;
    }
    const outcome: PushOutcome = await handlePushDelivery(service, incoming, deps);
    if (outcome.status === 'retry') {
      throw new TransientError(
        'EVENTARC.RETRY',
        `transient failure, asking for redelivery: [${errorCode(outcome.error)}] ${errorMessage(outcome.error)}`,
        { cause: outcome.error },
      );
    }
  };
}

/**
 * Register a service with `@google-cloud/functions-framework` as a CloudEvent function, the way
 * Cloud Run functions behind Eventarc run it (`functions-framework --target=<name>
 * --signature-type=cloudevent`). Returns the registered name.
 */
export function registerCloudEventService(service: Service, options: CloudEventFunctionOptions): string {
  const name = options.functionName ?? service.name;
  const handler = cloudEventFunction(service, options);
  const fn: CloudEventFunction<unknown> = (event) => handler(event as unknown as IncomingCloudEvent);
  cloudEvent<unknown>(name, fn);
  return name;
}

/** Options of {@link serveCloudEventFunction}. */
export interface ServeCloudEventFunctionOptions extends CloudEventFunctionOptions {
  /** Port to listen on (Cloud Run's `PORT`). */
  port: number;
  /** Address to bind (default all interfaces, as Cloud Run requires). */
  host?: string;
}

/**
 * Register a service as a CloudEvent function and serve it over HTTP. The server is the framework's
 * own (`getServer` with the registered function's signature type, which `getTestServer` wraps), the
 * same one `functions-framework --target` starts; resolves to a function that closes it.
 */
export async function serveCloudEventFunction(
  service: Service,
  options: ServeCloudEventFunctionOptions,
): Promise<() => Promise<void>> {
  const name = registerCloudEventService(service, options);
  const server = getTestServer(name);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => resolve());
  });
  options.log.info(`${service.name} serving CloudEvents on port ${options.port}`, {
    service: service.name,
    function: name,
  });
  return () => new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
}
