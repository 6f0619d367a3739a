/**
 * `mlops dlq relay` on the Pub/Sub emulator: a subscription with Pub/Sub's own dead-letter policy
 * (5 attempts) whose handler always fails, the dead-letter topic pushed to the relay as Eventarc's
 * subscription would push it, and one `stage.failed` that names the stage, the run and the attempts.
 * The same dead letter pushed again announces nothing more.
 */
import { PubSub, type Message } from '@google-cloud/pubsub';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  RELAY_COLLECTION,
  silentLogger,
  loadConfig,
  type AnyEvent,
  type CloudEvent,
  type Platform,
} from '@mlops/kernel';
import { SqliteDocumentStore } from '@mlops/adapters-local';
import { PubSubEventBus } from '@mlops/adapters-gcp';
import {
  skipWithoutEmulator,
  startEmulator,
  uniqueProjectId,
  type RunningEmulator,
  tempDir,
  testEvent,
  waitFor,
} from '@mlops/testing';
import { dlqRelayCommand } from '../src/commands/dlq.command.js';

const skip = skipWithoutEmulator('pubsub', 'the dead-letter relay (Pub/Sub dead-letter policy)');

describe.skipIf(skip)('mlops dlq relay on the Pub/Sub emulator', () => {
  let emulator: RunningEmulator;
  let home: ReturnType<typeof tempDir>;
  let bus: PubSubEventBus;
  let plain: PubSub;
  let documents: SqliteDocumentStore;
  let relayUrl: string;
  let relayDone: Promise<number>;
  const stopRelay = new AbortController();
  const failures: CloudEvent<'mlops.stage.failed.v1'>[] = [];
  const projectId = uniqueProjectId('relay');

  beforeAll(async () => {
    emulator = await startEmulator('pubsub');
    home = tempDir('mlops-relay-');
    bus = new PubSubEventBus({ projectId, emulatorHost: emulator.host });
    plain = new PubSub({
      projectId,
      apiEndpoint: emulator.host,
      emulatorMode: true,
      credentials: { client_email: 'relay-test@localhost', private_key: 'unused' },
    });
    documents = new SqliteDocumentStore({ path: join(home.path, 'documents.sqlite') });
    await bus.subscribe({ name: 'observer.stage-failed', topic: 'stage-failed' }, async (event) => {
      failures.push(event as CloudEvent<'mlops.stage.failed.v1'>);
    });
    const config = loadConfig({ MLOPS_HOME: home.path, PORT: '0' });
    const platform = {
      config,
      log: silentLogger,
      bus,
      documents,
    } as unknown as Platform;
    const lines: string[] = [];
    relayDone = dlqRelayCommand(
      platform,
      { tty: false, out: (line) => void lines.push(line), err: () => undefined },
      stopRelay.signal,
    );
    await waitFor(() => lines.some((line) => line.includes('listening on')), 'the relay to listen');
    relayUrl = /listening on (\S+)/.exec(lines.join('\n'))![1]!;
  }, 120_000);

  afterAll(async () => {
    stopRelay.abort();
    await relayDone;
    await bus?.close();
    await plain?.close();
    await documents?.close();
    home?.remove();
    await emulator?.stop();
  });

  it('announces a message Pub/Sub dead-lettered after 5 attempts once, with its run and attempts', async () => {
    const [deadLetterTopic] = await plain.topic('dead-letter').get({ autoCreate: true });
    const [landedTopic] = await plain.topic('bronze-landed').get({ autoCreate: true });
    // What Eventarc's trigger of the dead-letters service is: a push subscription of the topic.
    await deadLetterTopic.createSubscription('dead-letters-relay', { pushConfig: { pushEndpoint: relayUrl } });
    await landedTopic.createSubscription('transformer.bronze-landed', {
      deadLetterPolicy: { deadLetterTopic: deadLetterTopic.name, maxDeliveryAttempts: 5 },
      ackDeadlineSeconds: 10,
    });
    const failing = plain.subscription('transformer.bronze-landed');
    let attempts = 0;
    failing.on('message', (message: Message) => {
      attempts += 1;
      message.nack();
    });

    const event = testEvent(
      'mlops.bronze.landed.v1',
      {
        runDate: '2026-03-01',
        source: 'sales',
        format: 'parquet',
        prefix: 'bronze/sales/dt=2026-03-01/',
        objects: [
          { key: 'bronze/sales/dt=2026-03-01/part-00000.parquet', bytes: 100, sha256: 'a'.repeat(64), rows: 10 },
        ],
        rowCount: 10,
        bytes: 100,
        contentHash: 'a'.repeat(64),
        loadType: 'daily',
      },
      '2026-03-01',
      { runid: 'run_relay_1' },
    ) as AnyEvent;
    await bus.publish(event);

    await waitFor(() => failures.length > 0, "the relay's stage.failed", 60_000);
    await failing.close();
    expect(attempts).toBeGreaterThanOrEqual(5);
    const [failure] = failures;
    expect(failure).toMatchObject({
      type: 'mlops.stage.failed.v1',
      runid: 'run_relay_1',
      rundate: '2026-03-01',
      causationid: event.id,
      data: {
        stage: 'transformer',
        code: 'BUS.DELIVERY_EXHAUSTED',
        runDates: ['2026-03-01'],
        causeEventId: event.id,
        details: { subscription: 'transformer.bronze-landed', deliveryAttempts: 5 },
      },
    });
    expect(failure!.data.reason).toContain('after 5 delivery attempts');
    expect(failure!.traceparent.slice(3, 35)).toBe(event.traceparent.slice(3, 35));

    // Pub/Sub delivers at least once: the same dead letter pushed again announces nothing.
    const details = failure!.data.details as { deadLetterMessageId: string; message: { attributes: object } };
    const again = await fetch(relayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        message: {
          data: Buffer.from(JSON.stringify(event.data)).toString('base64'),
          attributes: details.message.attributes,
          messageId: details.deadLetterMessageId,
          publishTime: new Date().toISOString(),
        },
        subscription: `projects/${projectId}/subscriptions/dead-letters-relay`,
      }),
    });
    expect(again.status).toBe(204);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(failures).toHaveLength(1);
    expect(await documents.count(RELAY_COLLECTION)).toBe(1);
  }, 120_000);
});
