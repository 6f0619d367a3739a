import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EXCERPT_BYTES,
  TransientError,
  encodeMessage,
  serveCloudEvents,
  silentLogger,
  type AnyEvent,
  type CloudEventsServer,
  type Service,
  type WireMessage,
} from '@mlops/kernel';
import { SqliteEventBus } from '@mlops/adapters-local';
import { rawRequest, type RawResponse, startEvent, tempDir, waitFor } from '@mlops/testing/suites';

const MAX_MESSAGE_BYTES = 64 * 1024;
const seen: AnyEvent[] = [];
const service: Service = {
  name: 'sales-gen',
  consumes: ['mlops.pipeline.started.v1'],
  async handle(event) {
    seen.push(event);
    if (event.rundate === '2026-06-02')
      throw new TransientError('TEST.LOCKED', 'Could not set lock on file "/srv/state/warehouse.duckdb": busy');
  },
};

/** The bytes the bus keeps on disk (the database and its write-ahead log). */
/**
 * Bytes of the bus file's pages in use, as a new reader sees them (the write-ahead log included):
 * page count less the free list, whatever the checkpoint worker has copied back so far. (The sizes
 * of the file and its log counted a page twice once a checkpoint had copied it.)
 */
function busBytes(path: string): number {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const pages =
      Number(db.pragma('page_count', { simple: true })) - Number(db.pragma('freelist_count', { simple: true }));
    return pages * Number(db.pragma('page_size', { simple: true }));
  } finally {
    db.close();
  }
}

function pushBody(message: WireMessage, id = '1'): string {
  return JSON.stringify({
    message: {
      data: Buffer.from(message.data).toString('base64'),
      attributes: message.attributes,
      messageId: id,
      publishTime: new Date().toISOString(),
    },
    subscription: 'projects/p/subscriptions/eventarc-sales-gen',
  });
}

const eventarcHeaders = (id: string) => ({
  'content-type': 'application/json',
  'ce-specversion': '1.0',
  'ce-type': 'google.cloud.pubsub.topic.v1.messagePublished',
  'ce-source': '//pubsub.googleapis.com/projects/p/topics/pipeline-start',
  'ce-id': id,
  'ce-time': new Date().toISOString(),
});

/** A JSON error body: no HTML, no stack trace, no absolute path. */
function expectJsonError(response: RawResponse, status: number, code: string): void {
  expect(response.status).toBe(status);
  expect(String(response.headers['content-type'])).toMatch(/^application\/json/);
  const body = JSON.parse(response.body) as { error: { code: string; message: string } };
  expect(body.error.code).toBe(code);
  expect(body.error.message.length).toBeGreaterThan(5);
  expect(response.body).not.toMatch(/<html|<pre|\n\s+at |\/work\/|\/srv\/|node_modules/i);
}

describe('the HTTP transport of a service', () => {
  const dir = tempDir();
  const busPath = join(dir.path, 'bus.sqlite');
  let bus: SqliteEventBus;
  let server: CloudEventsServer;
  let port: number;
  const nodeEnv = process.env.NODE_ENV;

  beforeAll(async () => {
    delete process.env.NODE_ENV; // the framework's HTML stack traces appeared outside production
    bus = new SqliteEventBus({ path: busPath, maxMessageBytes: MAX_MESSAGE_BYTES });
    server = await serveCloudEvents(service, {
      host: '127.0.0.1',
      port: 0,
      hosts: { allowedHosts: ['events.example.com'] },
      bus,
      log: silentLogger,
      maxAttempts: 3,
      maxMessageBytes: MAX_MESSAGE_BYTES,
    });
    port = server.port;
  });
  afterAll(async () => {
    process.env.NODE_ENV = nodeEnv;
    await server?.close();
    await bus?.close();
    dir.remove();
  });

  it('answers a health check on GET /', async () => {
    const response = await rawRequest(server.url);
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ status: 'ok', service: 'sales-gen' });
  });

  it.each([
    ['a foreign host', { host: 'attacker.example:18901' }],
    ['a subdomain of an allowed host', { host: 'evil.events.example.com' }],
    ['an allowed name on a loopback look-alike', { host: '127.0.0.1.attacker.example' }],
  ])('refuses %s with 421 and a JSON body (DNS rebinding)', async (_why, headers) => {
    for (const method of ['GET', 'POST']) {
      const response = await rawRequest(server.url, {
        method,
        headers: { ...headers, ...(method === 'POST' ? eventarcHeaders('x') : {}) },
        ...(method === 'POST' ? { body: pushBody(encodeMessage(startEvent('2026-06-01'))) } : {}),
      });
      expectJsonError(response, 421, 'HTTP.HOST_NOT_ALLOWED');
    }
  });

  it('answers loopback names with any port, and the configured host', async () => {
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, 'LOCALHOST', 'events.example.com']) {
      const response = await rawRequest(server.url, { headers: { host } });
      expect(response.status, host).toBe(200);
    }
  });

  it('refuses a request without a Host header', async () => {
    expectJsonError(await rawRequest(server.url, { setHost: false }), 421, 'HTTP.HOST_NOT_ALLOWED');
  });

  it.each([
    ['an invalid JSON body', { ...eventarcHeaders('bad-json') }, '{"message": ', 400, 'HTTP.INVALID_JSON'],
    [
      'a body that is not JSON',
      { 'content-type': 'text/html', 'ce-specversion': '1.0' },
      '<p>',
      415,
      'HTTP.UNSUPPORTED_MEDIA_TYPE',
    ],
    ['a batch', { 'content-type': 'application/cloudevents-batch+json' }, '[]', 415, 'HTTP.UNSUPPORTED_MEDIA_TYPE'],
    [
      'a request that is no CloudEvent',
      { 'content-type': 'application/json' },
      '{"hello": 1}',
      400,
      'HTTP.NOT_A_CLOUDEVENT',
    ],
  ])('answers %s with a JSON error, whatever NODE_ENV says', async (_why, headers, body, status, code) => {
    for (const env of [undefined, 'development']) {
      if (env === undefined) delete process.env.NODE_ENV;
      else process.env.NODE_ENV = env;
      expectJsonError(await rawRequest(server.url, { method: 'POST', headers, body }), status, code);
    }
  });

  it('answers malformed HTTP with a JSON 400', async () => {
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => socket.end('NOT HTTP AT ALL\r\n\r\n'));
      let text = '';
      socket.on('data', (chunk) => (text += chunk.toString()));
      socket.on('close', () => resolve(text));
      socket.on('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(answer).toContain('"code":"HTTP.BAD_REQUEST"');
  });

  it('answers other paths and methods with JSON errors', async () => {
    expectJsonError(await rawRequest(`${server.url}admin`), 404, 'HTTP.NOT_FOUND');
    expectJsonError(await rawRequest(server.url, { method: 'PUT', body: '{}' }), 405, 'HTTP.METHOD_NOT_ALLOWED');
  });

  it('asks for a retry on a transient failure with a JSON body that shows no path', async () => {
    const response = await rawRequest(server.url, {
      method: 'POST',
      headers: eventarcHeaders('locked'),
      body: pushBody(encodeMessage(startEvent('2026-06-02'))),
    });
    expectJsonError(response, 500, 'TEST.LOCKED');
    expect(response.body).toContain('Could not set lock on file');
    expect(response.body).toContain('<path>');
  });

  it('refuses a 30 MB post with 413 before reading it, and the bus grows by less than 100 KB', async () => {
    const before = busBytes(busPath);
    const body = Buffer.alloc(30 * 1024 * 1024, 0x61);
    const declared = await rawRequest(server.url, {
      method: 'POST',
      headers: { ...eventarcHeaders('huge'), 'content-length': String(body.byteLength) },
      body,
    });
    expectJsonError(declared, 413, 'HTTP.BODY_TOO_LARGE');
    // The same without a Content-Length (chunked): stopped by the bytes actually streamed.
    const streamed = await rawRequest(server.url, {
      method: 'POST',
      headers: eventarcHeaders('huge-chunked'),
      body: Readable.from(
        (function* () {
          for (let i = 0; i < 30; i += 1) yield Buffer.alloc(1024 * 1024, 0x62);
        })(),
      ),
    });
    expectJsonError(streamed, 413, 'HTTP.BODY_TOO_LARGE');
    expect(busBytes(busPath) - before).toBeLessThan(100 * 1024);
    expect(await bus.listDeadLetters()).toEqual([]);
  });

  it('keeps an oversized message that fits the body limit as a dead letter of 4 KB with its size and SHA-256', async () => {
    const event = startEvent('2026-06-03');
    const good = encodeMessage(event);
    const padded = JSON.stringify({ ...event.data, padding: 'p'.repeat(MAX_MESSAGE_BYTES + 8 * 1024) });
    const message: WireMessage = { data: Buffer.from(padded), attributes: good.attributes };
    const before = busBytes(busPath);
    const response = await rawRequest(server.url, {
      method: 'POST',
      headers: eventarcHeaders('oversized'),
      body: pushBody(message, '77'),
    });
    expect(response.status).toBe(204);
    await waitFor(async () => (await bus.listDeadLetters()).length === 1, 'the dead letter');
    const [letter] = await bus.listDeadLetters();
    expect(letter).toMatchObject({
      code: 'EVENT.TOO_LARGE',
      subscription: 'sales-gen.pipeline-start',
      eventId: event.id,
      runId: event.runid,
      excerpt: {
        bytes:
          Buffer.byteLength(padded) + Object.entries(good.attributes).reduce((n, [k, v]) => n + k.length + v.length, 0),
        sha256: createHash('sha256').update(padded).digest('hex'),
      },
    });
    expect(letter!.message.data.byteLength).toBe(EXCERPT_BYTES);
    expect(Buffer.from(letter!.message.data).toString()).toBe(padded.slice(0, EXCERPT_BYTES));
    // The payload is kept once, as an excerpt: far less than the 72 KB posted.
    expect(busBytes(busPath) - before).toBeLessThan(64 * 1024);
    expect(seen.map((e) => e.id)).not.toContain(event.id);
  });
});
