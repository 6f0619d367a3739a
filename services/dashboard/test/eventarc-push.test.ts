import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createEvent,
  encodeMessage,
  loadConfig,
  RunLedger,
  type AnyEvent,
  type Platform,
  type WireMessage,
} from '@mlops/kernel';
import { createPlatform } from '@mlops/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboard, type RunningDashboard } from '../src/index.js';

// The dashboard on Cloud Run: Eventarc pushes every topic to it, and its run-ledger observer records them.

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request with exactly these headers (fetch will not send a foreign Host). */
function send(
  port: number,
  options: { method?: string; path?: string; headers?: Record<string, string>; body?: string },
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: options.path ?? '/',
        method: options.method ?? 'POST',
        headers: { host: `127.0.0.1:${port}`, ...options.headers },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** What Eventarc posts for a message published to a topic: binary mode, `{message, subscription}`. */
function eventarcPush(message: WireMessage, topic: string, messageId: string) {
  return {
    headers: {
      'content-type': 'application/json',
      'ce-specversion': '1.0',
      'ce-type': 'google.cloud.pubsub.topic.v1.messagePublished',
      'ce-source': `//pubsub.googleapis.com/projects/p/topics/${topic}`,
      'ce-id': messageId,
      'ce-time': new Date().toISOString(),
    },
    body: JSON.stringify({
      message: {
        data: Buffer.from(message.data).toString('base64'),
        attributes: message.attributes,
        messageId,
        publishTime: new Date().toISOString(),
      },
      subscription: `projects/p/subscriptions/eventarc-dashboard-${topic}`,
    }),
  };
}

function started(runDate: string): AnyEvent {
  return createEvent(
    'mlops.pipeline.started.v1',
    { runDate, trigger: 'cli' },
    { source: '//mlops/scheduler', runid: `run_${runDate.replaceAll('-', '')}_push`, rundate: runDate },
  ) as AnyEvent;
}

function failed(runDate: string): AnyEvent {
  return createEvent(
    'mlops.stage.failed.v1',
    { stage: 'lander', code: 'LANDER.SOURCE_EMPTY', reason: 'no sales documents', runDates: [runDate] },
    { source: '//mlops/lander', runid: `run_${runDate.replaceAll('-', '')}_push`, rundate: runDate },
  ) as AnyEvent;
}

describe('the dashboard on the HTTP transport (Eventarc pushes)', () => {
  let home: string;
  let platform: Platform;
  let dashboard: RunningDashboard;
  const cloudRunHost = 'dashboard-3xq7kz2a4q-ew.a.run.app';

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'dashboard-push-'));
    // As on Cloud Run (K_SERVICE set), but bound to loopback on a free port for the test.
    const config = loadConfig({
      MLOPS_HOME: home,
      K_SERVICE: 'dashboard',
      MLOPS_HTTP_HOST: '127.0.0.1',
      PORT: '0',
      MLOPS_MAX_ATTEMPTS: '3',
      MLOPS_MAX_MESSAGE_BYTES: '65536',
    });
    platform = await createPlatform(config, { service: 'dashboard' });
    dashboard = await startDashboard(platform, { transport: 'http', warmEveryMs: 0 });
  });

  afterAll(async () => {
    await dashboard?.close();
    await platform?.close();
    rmSync(home, { recursive: true, force: true });
  });

  const ledger = () => new RunLedger(platform.documents).entries();

  it('listens where config.http says and does not subscribe the observer to the bus', async () => {
    expect(dashboard.host).toBe('127.0.0.1');
    expect(dashboard.port).toBeGreaterThan(0);
    const subscriptions = (await platform.bus.stats()).map((stats) => stats.subscription);
    expect(subscriptions.filter((name) => name.startsWith('dashboard'))).toEqual([]);
  });

  it('records an Eventarc push of pipeline.started, and a redelivery changes nothing', async () => {
    const event = started('2026-06-01');
    const push = eventarcPush(encodeMessage(event), 'pipeline-start', 'm-1');
    const first = await send(dashboard.port, push);
    expect(first.status).toBe(204);
    const entries = (await ledger()).filter((entry) => entry.eventId === event.id);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ type: 'mlops.pipeline.started.v1', runId: event.runid, runDate: '2026-06-01' });

    const again = await send(dashboard.port, push);
    expect(again.status).toBe(204);
    const after = (await ledger()).filter((entry) => entry.eventId === event.id);
    expect(after).toEqual(entries);

    const runs = JSON.parse((await send(dashboard.port, { method: 'GET', path: '/api/operations/runs' })).body) as {
      runs: { runId: string }[];
    };
    expect(runs.runs.map((run) => run.runId)).toContain(event.runid);
  });

  it('records stage.failed in structured mode and from a plain Pub/Sub push body', async () => {
    const structured = failed('2026-06-02');
    const answer = await send(dashboard.port, {
      headers: { 'content-type': 'application/cloudevents+json; charset=utf-8' },
      body: JSON.stringify(structured),
    });
    expect(answer.status).toBe(204);

    const plain = failed('2026-06-03');
    const message = encodeMessage(plain);
    const pushed = await send(dashboard.port, {
      headers: { 'content-type': 'application/json' },
      body: eventarcPush(message, 'stage-failed', 'm-2').body,
    });
    expect(pushed.status).toBe(204);

    const recorded = await ledger();
    for (const event of [structured, plain])
      expect(recorded.find((entry) => entry.eventId === event.id)).toMatchObject({
        type: 'mlops.stage.failed.v1',
        runDate: event.rundate,
      });
  });

  it('answers a malformed push as the transport does: bad HTTP is refused, a bad message dead-lettered', async () => {
    const notJson = await send(dashboard.port, {
      headers: { 'content-type': 'application/json' },
      body: '{"message":',
    });
    expect(notJson.status).toBe(400);
    expect(JSON.parse(notJson.body)).toMatchObject({ error: { code: 'HTTP.INVALID_JSON' } });
    expect(notJson.body).not.toMatch(/<html|\n\s+at |node_modules/);

    const notAnEvent = await send(dashboard.port, { headers: { 'content-type': 'text/plain' }, body: 'hello' });
    expect(notAnEvent.status).toBe(415);

    // A Pub/Sub message that is not a valid event: acknowledged (204), kept as a dead letter.
    const bad: WireMessage = {
      data: Buffer.from('{"runDate":"not a date"}'),
      attributes: {
        'content-type': 'application/json',
        'ce-specversion': '1.0',
        'ce-type': 'mlops.pipeline.started.v1',
        'ce-id': 'bad-1',
        'ce-source': '//elsewhere',
        'ce-time': new Date().toISOString(),
        'ce-runid': 'run_20260601_bad',
        'ce-rundate': '2026-06-01',
      },
    };
    const letters = () => platform.bus.listDeadLetters({ subscription: 'dashboard.pipeline-start' });
    const before = (await letters()).length;
    const deadLettered = await send(dashboard.port, eventarcPush(bad, 'pipeline-start', 'm-bad'));
    expect(deadLettered.status).toBe(204);
    const added = (await letters()).slice(before);
    expect(added).toHaveLength(1);
    expect(added[0]).toMatchObject({ code: 'EVENT.SCHEMA_VIOLATION', attempts: 1 });
    expect((await ledger()).some((entry) => entry.eventId === 'bad-1')).toBe(false);

    const tooLarge = await send(dashboard.port, {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ message: { data: 'A'.repeat(200_000) } }),
    });
    expect(tooLarge.status).toBe(413);
    expect(JSON.parse(tooLarge.body)).toMatchObject({ error: { code: 'HTTP.BODY_TOO_LARGE' } });
  });

  it('still serves its pages and API; other POSTs reach fastify', async () => {
    const page = await send(dashboard.port, { method: 'GET', path: '/' });
    expect(page.status).toBe(200);
    expect(String(page.headers['content-type'])).toMatch(/^text\/html/);
    expect(page.headers['content-security-policy']).toBeDefined();
    expect((await send(dashboard.port, { method: 'GET', path: '/api/health' })).status).toBe(200);
    const elsewhere = await send(dashboard.port, { path: '/api/health', body: '{}' });
    expect(elsewhere.status).toBe(404);
  });

  it('answers the Cloud Run host and refuses a foreign Host with 421, for pushes and pages', async () => {
    const event = started('2026-06-04');
    const push = eventarcPush(encodeMessage(event), 'pipeline-start', 'm-4');
    const viaRunApp = await send(dashboard.port, { ...push, headers: { ...push.headers, host: cloudRunHost } });
    expect(viaRunApp.status).toBe(204);
    expect(
      (await send(dashboard.port, { method: 'GET', path: '/api/health', headers: { host: cloudRunHost } })).status,
    ).toBe(200);

    const foreign = started('2026-06-05');
    const refused = await send(dashboard.port, {
      ...eventarcPush(encodeMessage(foreign), 'pipeline-start', 'm-5'),
      headers: { ...push.headers, host: 'attacker.example' },
    });
    expect(refused.status).toBe(421);
    expect(JSON.parse(refused.body)).toMatchObject({ error: { code: 'HTTP.HOST_NOT_ALLOWED' } });
    const page = await send(dashboard.port, { method: 'GET', path: '/', headers: { host: 'attacker.example' } });
    expect(page.status).toBe(421);
    expect((await ledger()).some((entry) => entry.eventId === foreign.id)).toBe(false);
  });
});
