import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One structured log line of a stand-in (JSON lines with `severity`, as the platform logs). */
export interface StandinLogEntry {
  severity: 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR';
  standin: string;
  message: string;
  [key: string]: unknown;
}

/** Where a stand-in writes its log lines; stderr by default. */
export type StandinLog = (entry: StandinLogEntry) => void;

export const stderrLog: StandinLog = (entry) => process.stderr.write(`${JSON.stringify(entry)}\n`);

/**
 * An error a handler throws to answer with Google's JSON error shape:
 * `{"error": {"code", "message", "status", "errors": [{"message", "domain", "reason"}]}}`.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** Something the real service does but the stand-in does not: 501, and a warning in the log. */
export class NotImplementedError extends HttpError {
  constructor(what: string) {
    super(501, 'notImplemented', `stand-in does not implement ${what}`);
  }
}

const STATUS_NAMES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ALREADY_EXISTS',
  412: 'FAILED_PRECONDITION',
  416: 'OUT_OF_RANGE',
  500: 'INTERNAL',
  501: 'UNIMPLEMENTED',
};

/** The JSON body of an error response. */
export function errorBody(error: HttpError): unknown {
  return {
    error: {
      code: error.status,
      message: error.message,
      errors: [{ message: error.message, domain: 'global', reason: error.reason, ...error.extra }],
      status: STATUS_NAMES[error.status] ?? 'UNKNOWN',
    },
  };
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=UTF-8',
    'content-length': String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}

/** The whole request body. */
export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The request body as JSON (an empty body is `{}`); 400 when it is not JSON. */
export async function readJson<T = Record<string, unknown>>(req: IncomingMessage): Promise<T> {
  const body = await readBody(req);
  if (body.length === 0) return {} as T;
  try {
    return JSON.parse(body.toString('utf8')) as T;
  } catch {
    throw new HttpError(400, 'parseError', 'request body is not valid JSON');
  }
}

/**
 * Refuse query parameters the stand-in does not handle, so a call that the real service would
 * treat differently never passes silently.
 */
export function onlyParams(url: URL, allowed: readonly string[], where: string): void {
  for (const name of url.searchParams.keys()) {
    if (!allowed.includes(name)) throw new NotImplementedError(`query parameter "${name}" of ${where}`);
  }
}

/** Refuse body fields the stand-in does not handle (fields set to null or undefined are ignored). */
export function onlyFields(body: Record<string, unknown>, allowed: readonly string[], where: string): void {
  for (const [name, value] of Object.entries(body)) {
    if (value !== undefined && value !== null && !allowed.includes(name))
      throw new NotImplementedError(`field "${name}" of ${where}`);
  }
}

export type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>;

/** A running stand-in server. */
export interface RunningServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** `127.0.0.1:<port>` */
  readonly host: string;
  readonly port: number;
  stop(): Promise<void>;
}

/**
 * Serve a handler on 127.0.0.1 on a free port. HttpErrors become Google-shaped error responses;
 * 501s and unexpected failures are logged, so that an unsupported call is seen, not only answered.
 */
export async function serve(name: string, handler: Handler, log: StandinLog, port = 0): Promise<RunningServer> {
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    handler(req, res, url).catch((error: unknown) => {
      const known = error instanceof HttpError ? error : undefined;
      if (!known || known.status >= 500)
        log({
          severity: known?.status === 501 ? 'WARNING' : 'ERROR',
          standin: name,
          message: known ? known.message : `unexpected failure: ${(error as Error)?.stack ?? String(error)}`,
          method: req.method,
          path: url.pathname,
        });
      if (res.headersSent) {
        res.destroy();
        return;
      }
      // Drain what the client is still sending, so it reads the answer rather than a reset.
      req.resume();
      sendJson(res, known?.status ?? 500, errorBody(known ?? new HttpError(500, 'backendError', String(error))));
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}`,
    host: `127.0.0.1:${address.port}`,
    port: address.port,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
