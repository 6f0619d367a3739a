import { request } from 'node:http';
import type { Readable } from 'node:stream';

/** A response as received, body as text. */
export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * One HTTP request with exactly the given headers (fetch will not send a foreign `Host`). The body
 * may be a stream (sent chunked unless a content-length is given); a server that answers before
 * the body is sent and closes the connection still yields its answer.
 */
export function rawRequest(
  url: string,
  options: {
    method?: string;
    headers?: Record<string, string>;
    body?: Buffer | string | Readable;
    setHost?: boolean;
  } = {},
): Promise<RawResponse> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    let answered: RawResponse | undefined;
    const req = request(
      {
        host: target.hostname,
        port: target.port,
        path: `${target.pathname}${target.search}`,
        method: options.method ?? 'GET',
        headers: options.headers ?? {},
        setHost: options.setHost ?? true,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          answered = {
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          };
          resolve(answered);
        });
        response.on('error', (error) => (answered ? undefined : reject(error)));
      },
    );
    // An early answer closes the connection while the body is still going: not a failure of the test.
    req.on('error', (error) => setTimeout(() => (answered ? undefined : reject(error)), 200));
    const body = options.body;
    if (body === undefined) req.end();
    else if (typeof body === 'string' || Buffer.isBuffer(body)) req.end(body);
    else body.pipe(req);
  });
}
