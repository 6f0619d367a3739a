/**
 * The prediction server of Vertex AI's custom-container contract, on node:http:
 *
 * - `GET <health route>`: 200 once the model is loaded, 503 before;
 * - `POST <predict route>` with `{"instances": [...]}`: 200 `{"predictions": [...]}`, one churn
 *   probability per instance in the same order; 400 naming the instance and feature at fault,
 *   413 past the body limit, 503 before the model is loaded.
 *
 * Anything else is 404 (or 405 on a known route with the wrong method). Every error body is JSON.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '@mlops/kernel';
import type { ServedModel } from './served-model.js';
import { ServingError, ServingErrors } from './serving.errors.js';
import type { ServingOptions } from './serving.options.js';

/** A running server; `serve` hands it the model once loaded. */
export interface PredictionServer {
  /** The bound port (the one asked for, or the one the system chose for port 0). */
  readonly port: number;
  serve(model: ServedModel): void;
  close(): Promise<void>;
}

function send(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

/** The body, up to `limit` bytes; past it, a 413 (the rest of the upload is not read). */
function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(ServingErrors.bodyTooLarge(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        request.removeAllListeners('data');
        request.pause();
        reject(ServingErrors.bodyTooLarge(limit));
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

function parseJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw ServingErrors.badJson((error as Error).message);
  }
}

/** Start listening; health answers 503 until `serve` is called. */
export async function startPredictionServer(
  options: Pick<ServingOptions, 'host' | 'port' | 'healthRoute' | 'predictRoute' | 'maxBodyBytes'>,
  log: Logger,
): Promise<PredictionServer> {
  let model: ServedModel | undefined;
  const routes = [`GET ${options.healthRoute}`, `POST ${options.predictRoute}`];

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? '/').split('?')[0]!;
    if (path === options.healthRoute) {
      if (request.method !== 'GET' && request.method !== 'HEAD')
        throw ServingErrors.methodNotAllowed(request.method ?? '', path, 'GET');
      if (!model) throw ServingErrors.modelNotLoaded();
      send(response, 200, { status: 'ok', model: model.kind, features: model.featureNames.length });
      return;
    }
    if (path !== options.predictRoute) throw ServingErrors.notFound(path, routes);
    if (request.method !== 'POST') throw ServingErrors.methodNotAllowed(request.method ?? '', path, 'POST');
    const type = request.headers['content-type'];
    if (type !== undefined && !/json/i.test(type)) throw ServingErrors.unsupportedMediaType(type);
    const body = parseJson(await readBody(request, options.maxBodyBytes));
    if (!model) throw ServingErrors.modelNotLoaded();
    send(response, 200, { predictions: model.predict(body) });
  }

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (error instanceof ServingError) {
        if (error.status === 413) response.setHeader('connection', 'close');
        if (error.status === 503) response.setHeader('retry-after', '1');
        send(response, error.status, error);
        return;
      }
      log.error(`prediction failed: ${(error as Error).message}`, { service: 'serving' });
      send(response, 500, {
        error: { code: 'SERVING.INTERNAL', message: 'the prediction failed; see the server log' },
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    serve(loaded) {
      model = loaded;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
