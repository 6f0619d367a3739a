import { relayPush, servePushHandler, type Platform } from '@mlops/kernel';
import { table } from '../format.js';
import type { CliIo } from '../io.js';

/** The largest message Pub/Sub accepts (10 MB). */
const PUBSUB_MAX_MESSAGE_BYTES = 10 * 1000 * 1000;

/** `mlops dlq list|redrive`. */
export async function dlqCommand(
  platform: Platform,
  command: {
    action: 'list' | 'redrive' | 'relay';
    ids: string[];
    subscription: string | undefined;
    limit: number;
    json: boolean;
  },
  io: CliIo,
): Promise<number> {
  if (command.action === 'redrive') {
    const n = await platform.bus.redrive({
      ...(command.ids.length > 0 ? { ids: command.ids } : {}),
      ...(command.subscription ? { subscription: command.subscription } : {}),
    });
    io.out(`redrove ${n} dead letter${n === 1 ? '' : 's'}`);
    return 0;
  }
  const letters = await platform.bus.listDeadLetters({
    limit: command.limit,
    ...(command.subscription ? { subscription: command.subscription } : {}),
  });
  if (command.json) {
    io.out(
      JSON.stringify(
        letters.map(({ message: _message, ...letter }) => letter),
        null,
        2,
      ),
    );
    return 0;
  }
  if (letters.length === 0) {
    io.out('no dead letters');
    return 0;
  }
  io.out(
    table(
      ['id', 'dead at', 'subscription', 'event type', 'run', 'attempts', 'code', 'reason'],
      letters.map((l) => [
        l.id,
        l.deadAt.toISOString(),
        l.subscription,
        l.eventType ?? '?',
        l.runId ?? '',
        l.attempts,
        l.code,
        l.reason.slice(0, 100),
      ]),
    ),
  );
  return 0;
}

/**
 * `mlops dlq relay`: the `dead-letters` service of the gcp mode. An HTTP receiver of Eventarc's
 * pushes from the `dead-letter` topic (the runtime's HTTP listener: Host allow-list, body bounds,
 * health check on `GET /`) that announces every message Pub/Sub's dead-letter policy forwarded as
 * one `stage.failed` (see `relayDeadLetter`). Runs until `signal` aborts (SIGTERM on Cloud Run).
 */
export async function dlqRelayCommand(platform: Platform, io: CliIo, signal: AbortSignal): Promise<number> {
  const { config } = platform;
  const log = platform.log.child({ service: 'dead-letters' });
  const server = await servePushHandler(
    'dead-letters',
    (incoming) => relayPush(incoming, { publisher: platform.bus, documents: platform.documents, log }),
    {
      host: config.http.host,
      port: config.http.port,
      hosts: {
        allowedHosts: config.http.allowedHosts,
        ...(config.http.cloudRunService ? { cloudRunService: config.http.cloudRunService } : {}),
      },
      log,
      // A dead letter may be the very message a service refused for its size: accept any Pub/Sub
      // can carry (the stage.failed keeps a bounded excerpt), or it would be pushed here forever.
      maxMessageBytes: Math.max(config.bus.maxMessageBytes, PUBSUB_MAX_MESSAGE_BYTES),
    },
  );
  io.out(`dead-letter relay listening on ${server.url}`);
  await new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await server.close();
  return 0;
}
