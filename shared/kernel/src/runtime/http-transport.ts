import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { errorMessage } from '../errors.js';
import { HttpRequestError, readCloudEvent } from './cloudevents-http.js';
import { handlePushDelivery, type IncomingCloudEvent, type PushDeliveryDeps, type PushOutcome } from './eventarc.js';
import { createHostCheck, hostRefusal, type HostPolicy } from './host-allow-list.js';
import type { Service } from './service.js';

/** Options of {@link serveCloudEvents}. */
export interface ServeCloudEventsOptions extends PushDeliveryDeps {
  /** Address to bind (see `config.http.host`: loopback unless on Cloud Run or configured). */
  host: string;
  /** Port to listen on (Cloud Run's `PORT`; 0 for any free one). */
  port: number;
  /** Which `Host` headers are answered (loopback names always). */
  hosts?: HostPolicy;
  /**
   * Largest request body read (default: a Pub/Sub push of a message of `maxMessageBytes`, which is
   * base64 in the body, plus 64 KiB). A larger one is refused with 413 before it is read.
   */
  maxBodyBytes?: number;
}

/** Options of {@link servePushHandler}: the listener's settings, without the service's delivery deps. */
export type ServePushOptions = Omit<ServeCloudEventsOptions, 'bus' | 'maxAttempts'>;

/** A listening HTTP transport. */
export interface CloudEventsServer {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

type ErrorBody = { error: { code: string; message: string } };

/** An error message fit for a response: one line, no absolute paths, bounded. */
export function publicMessage(message: string): string {
  return message
    .replace(/(^|[\s'"(=[])(?:[A-Za-z]:\\|\/)[^\s'"()[\]]*/g, '$1<path>')
    .replace(/\s+/g, ' ')
    .slice(0, 500);
}

function send(response: ServerResponse, status: number, body?: ErrorBody | Record<string, unknown>, close = false) {
  if (response.headersSent) return;
  const text = body === undefined ? '' : JSON.stringify(body);
  response.writeHead(status, {
    ...(body === undefined ? {} : { 'content-type': 'application/json; charset=utf-8' }),
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...(close ? { connection: 'close' } : {}),
  });
  response.end(text);
}

function failure(code: string, message: string): ErrorBody {
  return { error: { code, message: publicMessage(message) } };
}

/** Read the body, counting bytes as they stream; `too-large` (and stop reading) once past the limit. */
function readBody(request: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > limit) {
        request.off('data', onData);
        request.pause();
        resolve('too-large');
        return;
      }
      chunks.push(chunk);
    };
    request.on('data', onData);
    request.once('end', () => resolve(Buffer.concat(chunks, size)));
    request.once('error', reject);
  });
}

/**
 * Serve a service as an HTTP CloudEvents receiver, the way Eventarc delivers to Cloud Run. Before
 * anything else every request's `Host` must be one this listener is meant to be reached by (421
 * otherwise, against DNS rebinding); `GET /` answers a health check; a `POST` body is bounded by its
 * `Content-Length` and by the bytes actually streamed (413, nothing stored); the event then goes
 * through {@link handlePushDelivery}. Handled or dead-lettered: 204, so Pub/Sub stops pushing;
 * retry: 500, so it pushes again with its backoff. Every error body is JSON, with no stack trace
 * and no absolute path, whatever `NODE_ENV` says.
 */
export async function serveCloudEvents(service: Service, options: ServeCloudEventsOptions): Promise<CloudEventsServer> {
  return servePushHandler(service.name, (incoming) => handlePushDelivery(service, incoming, options), options);
}

/** Options of {@link createPushRequestHandler}: who may be answered, the body bound, the log. */
export type PushRequestOptions = Pick<ServePushOptions, 'hosts' | 'maxBodyBytes' | 'log' | 'maxMessageBytes'>;

/**
 * The request handling of {@link servePushHandler}, for a server of its own or mounted on another
 * one (the dashboard's, which receives the run ledger's pushes): the Host check, the health check,
 * the body bounds, the push, the settlement's status and JSON errors. It never rejects.
 */
export function createPushRequestHandler(
  name: string,
  onPush: (incoming: IncomingCloudEvent) => Promise<PushOutcome>,
  options: PushRequestOptions,
): (request: IncomingMessage, response: ServerResponse) => void {
  const hostAllowed = createHostCheck(options.hosts);
  const maxBody = options.maxBodyBytes ?? Math.ceil(options.maxMessageBytes / 3) * 4 + 64 * 1024;
  const log = options.log.child({ service: name });

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const host = request.headers.host;
    if (!hostAllowed(host)) {
      log.warning('refused a request for another host', { host: host?.slice(0, 100), status: 421 });
      return send(response, 421, hostRefusal(host), true);
    }
    const path = (request.url ?? '/').split('?')[0];
    if (request.method === 'GET' || request.method === 'HEAD') {
      if (path === '/') return send(response, 200, { status: 'ok', service: name });
      return send(response, 404, failure('HTTP.NOT_FOUND', `nothing at ${path}; POST CloudEvents, GET / for health`));
    }
    if (request.method !== 'POST') {
      response.setHeader('allow', 'GET, HEAD, POST');
      return send(response, 405, failure('HTTP.METHOD_NOT_ALLOWED', `${request.method} is not accepted`), true);
    }
    const declared = Number(request.headers['content-length'] ?? Number.NaN);
    const tooLarge = (bytes: string) => {
      log.warning('refused an oversized request body', { bytes, limit: maxBody, status: 413 });
      send(response, 413, failure('HTTP.BODY_TOO_LARGE', `the body is ${bytes} bytes; the limit is ${maxBody}`), true);
    };
    if (declared > maxBody) return tooLarge(String(declared));
    const body = await readBody(request, maxBody);
    if (body === 'too-large') return tooLarge(`more than ${maxBody}`);
    const outcome = await onPush(readCloudEvent(request.headers, body));
    if (outcome.status !== 'retry') return send(response, 204);
    return send(response, 500, failure(outcome.code, `transient failure, deliver again: ${outcome.reason}`));
  };

  return (request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (error instanceof HttpRequestError) return send(response, error.status, failure(error.code, error.message));
      log.error('the HTTP transport failed on a request', { error: errorMessage(error) });
      send(response, 500, failure('INTERNAL.UNEXPECTED', 'the request failed; see the service log'));
    });
  };
}

/**
 * The HTTP listener of {@link serveCloudEvents} around any push handler: the same Host check, health
 * check, body bounds and JSON errors, for receivers that are not a service of one stage (the relay
 * of Pub/Sub dead letters).
 */
export async function servePushHandler(
  name: string,
  onPush: (incoming: IncomingCloudEvent) => Promise<PushOutcome>,
  options: ServePushOptions,
): Promise<CloudEventsServer> {
  const log = options.log.child({ service: name });
  const handle = createPushRequestHandler(name, onPush, options);
  // A request without Host is refused by the host check (421, JSON) rather than by Node (a bare 400).
  const server = createServer({ requireHostHeader: false }, handle);
  // Malformed HTTP never reaches the handler; it still gets a JSON answer.
  server.on('clientError', (_error, socket) => {
    if (!socket.writable) return socket.destroy();
    const text = JSON.stringify(failure('HTTP.BAD_REQUEST', 'malformed HTTP request'));
    socket.end(
      `HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`,
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const shown = options.host.includes(':') ? `[${options.host}]` : options.host;
  const url = `http://${shown}:${port}/`;
  log.info(`${name} serving CloudEvents at ${url}`, { host: options.host, port });
  return {
    url,
    host: options.host,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
