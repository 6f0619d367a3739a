/**
 * What Eventarc adds between a Pub/Sub push subscription and a Cloud Run service, which the
 * emulator does not have: the emulator pushes a plain push body here (one path per subscription),
 * and this re-posts it to the service as Eventarc does, a binary-mode CloudEvent of type
 * `google.cloud.pubsub.topic.v1.messagePublished` whose data is `{message, subscription}` with no
 * delivery attempt. The service's status goes back to the emulator unchanged, so Pub/Sub's own
 * retries and dead-letter policy decide what happens to a message the service does not accept.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';

/** Where one subscription's pushes go. */
export interface ForwardRoute {
  /** The service's URL (its HTTP transport). */
  target: string;
  /** The topic the subscription reads (Eventarc's `ce-source`). */
  topic: string;
}

/** A running forwarder. */
export interface EventarcForwarder {
  /** The push endpoint of a subscription. */
  endpoint(subscription: string): string;
  route(subscription: string, route: ForwardRoute): void;
  /** Pushes forwarded so far, by subscription and the status the service answered. */
  readonly counts: Map<string, Map<number, number>>;
  close(): Promise<void>;
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.once('end', () => resolve(Buffer.concat(chunks)));
    request.once('error', reject);
  });
}

interface PushBody {
  message?: { data?: string; attributes?: Record<string, string>; messageId?: string; publishTime?: string };
  subscription?: string;
  deliveryAttempt?: number;
}

/** Start the forwarder on 127.0.0.1 (a free port). */
export async function startEventarcForwarder(projectId: string): Promise<EventarcForwarder> {
  const routes = new Map<string, ForwardRoute>();
  const counts = new Map<string, Map<number, number>>();
  const count = (subscription: string, status: number) => {
    const byStatus = counts.get(subscription) ?? new Map<number, number>();
    byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
    counts.set(subscription, byStatus);
  };
  const server: Server = createServer((request, response) => {
    void (async () => {
      const subscription = decodeURIComponent((request.url ?? '').replace(/^\/push\//, '').split('?')[0]!);
      const route = routes.get(subscription);
      if (request.method !== 'POST' || !route) {
        response.writeHead(404).end();
        return;
      }
      const push = JSON.parse((await readBody(request)).toString('utf8')) as PushBody;
      const message = push.message ?? {};
      // Eventarc's body: the message and the subscription; the delivery attempt is not passed on.
      const body = JSON.stringify({ message, subscription: push.subscription });
      let status: number;
      try {
        const answer = await fetch(route.target, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'ce-specversion': '1.0',
            'ce-type': 'google.cloud.pubsub.topic.v1.messagePublished',
            'ce-source': `//pubsub.googleapis.com/projects/${projectId}/topics/${route.topic}`,
            'ce-id': message.messageId ?? 'unknown',
            'ce-time': message.publishTime ?? new Date().toISOString(),
          },
          body,
          signal: AbortSignal.timeout(600_000),
        });
        await answer.arrayBuffer();
        status = answer.status;
      } catch {
        status = 503;
      }
      count(subscription, status);
      response.writeHead(status).end();
    })().catch(() => {
      if (!response.headersSent) response.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    endpoint: (subscription) => `http://127.0.0.1:${port}/push/${encodeURIComponent(subscription)}`,
    route: (subscription, route) => void routes.set(subscription, route),
    counts,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
