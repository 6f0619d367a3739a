import { cloudEvent, type CloudEventFunction } from '@google-cloud/functions-framework';
import {
  TransientError,
  handlePushDelivery,
  type IncomingCloudEvent,
  type PushDeliveryDeps,
  type Service,
} from '@mlops/kernel';

/** What a service hosted as a CloudEvent function needs. */
export interface CloudEventFunctionOptions extends PushDeliveryDeps {
  /** Name the function is registered under, the framework's `--target` (default: the service name). */
  functionName?: string;
}

/**
 * The CloudEvent function of a service, for `functions-framework --target=<name>
 * --signature-type=cloudevent` deployments: it runs a delivery through {@link handlePushDelivery}
 * and maps the outcome to what the framework answers. Handled or dead-lettered: resolve (2xx, so
 * Pub/Sub stops pushing). Retry: throw, so the framework answers 500 and Pub/Sub pushes again. The
 * platform's own service processes use the runtime's HTTP transport (`serveCloudEvents`) instead,
 * which also checks the Host, bounds bodies and answers errors as JSON.
 */
export function cloudEventFunction(
  service: Service,
  options: CloudEventFunctionOptions,
): (incoming: IncomingCloudEvent) => Promise<void> {
  return async (incoming) => {
    const outcome = await handlePushDelivery(service, incoming, options);
    if (outcome.status === 'retry')
      throw new TransientError(
        'EVENTARC.RETRY',
        `transient failure, asking for redelivery: [${outcome.code}] ${outcome.reason}`,
      );
  };
}

/**
 * Register a service with `@google-cloud/functions-framework` as a CloudEvent function, the way
 * Cloud Run functions behind Eventarc run it. Returns the registered name.
 */
export function registerCloudEventService(service: Service, options: CloudEventFunctionOptions): string {
  const name = options.functionName ?? service.name;
  const handler = cloudEventFunction(service, options);
  const fn: CloudEventFunction<unknown> = (event) => handler(event as unknown as IncomingCloudEvent);
  cloudEvent<unknown>(name, fn);
  return name;
}
