import { describe, expect, it } from 'vitest';
import {
  DELIVERY_EXHAUSTED_CODE,
  RELAY_COLLECTION,
  TransientError,
  relayDeadLetter,
  relayPush,
  silentLogger,
  stageOfDeadLetterSubscription,
  type AnyEvent,
  type WireMessage,
} from '@mlops/kernel';
import { InMemoryDocumentStore, RecordingPublisher } from '@mlops/testing';

const policy = (subscription: string, extra: Record<string, string> = {}) => ({
  CloudPubSubDeadLetterSourceSubscription: subscription,
  CloudPubSubDeadLetterSourceSubscriptionProject: 'acme',
  CloudPubSubDeadLetterSourceDeliveryCount: '7',
  CloudPubSubDeadLetterSourceTopicPublishTime: '2026-03-02T01:02:03.000Z',
  ...extra,
});

function setup() {
  const publisher = new RecordingPublisher();
  const documents = new InMemoryDocumentStore();
  return {
    publisher,
    documents,
    deps: { publisher, documents, log: silentLogger, now: () => new Date('2026-03-05T00:00:00Z') },
  };
}

describe('the dead-letter relay', () => {
  it.each([
    ['lander.sales-generated', 'lander'],
    ['projects/acme/subscriptions/trainer.warehouse-ready', 'trainer'],
    ['eventarc-europe-west1-transformer-bronze-landed-sub-412', 'transformer'],
    ['eventarc-europe-west1-startup-gen-pipeline-start-sub-7', 'startup-gen'],
    ['eventarc-europe-west1-trainer-vertex-completions-sub-9', 'trainer'],
    ['someone-elses-subscription', undefined],
    ['observer.bronze-landed', undefined],
  ])('reads the stage of subscription %s', (subscription, stage) => {
    expect(stageOfDeadLetterSubscription(subscription)).toBe(stage);
  });

  it('announces a message with no envelope under run_unknown, with a bounded excerpt of it', async () => {
    const { publisher, documents, deps } = setup();
    const message: WireMessage = { data: Buffer.alloc(300_000, 'x'), attributes: policy('lander.sales-generated') };
    const result = await relayDeadLetter(message, '981', deps);
    expect(result).toMatchObject({ status: 'announced', stage: 'lander' });
    const [event] = publisher.ofType('mlops.stage.failed.v1');
    expect(event).toMatchObject({
      runid: 'run_unknown',
      rundate: '2026-03-05',
      data: { code: DELIVERY_EXHAUSTED_CODE },
    });
    const details = event!.data.details as {
      deliveryAttempts: number;
      message: { data: string; excerptOf: { bytes: number } };
    };
    expect(details.deliveryAttempts).toBe(7);
    expect(details.message.data.length).toBe(4096);
    expect(details.message.excerptOf.bytes).toBeGreaterThan(300_000);
    expect(await documents.count(RELAY_COLLECTION)).toBe(1);
  });

  it.each([
    [
      'a dead letter the runtime already announced',
      { 'x-dead-letter-code': 'BUS.MAX_ATTEMPTS', ...policy('lander.sales-generated') },
      'runtime-announced',
    ],
    [
      'a message without the dead-letter policy attributes',
      { 'ce-type': 'mlops.bronze.landed.v1' },
      'not-a-policy-dead-letter',
    ],
    ['a subscription of no stage', policy('analytics-export'), 'unknown-stage'],
    [
      'a dead-lettered stage.failed (no loop)',
      policy('trainer.stage-failed', { 'ce-type': 'mlops.stage.failed.v1' }),
      'failure-event',
    ],
  ])('publishes nothing for %s', async (_name, attributes, status) => {
    const { publisher, deps } = setup();
    expect(await relayDeadLetter({ data: Buffer.from('{}'), attributes }, '5', deps)).toEqual({ status });
    expect(publisher.events).toHaveLength(0);
  });

  it('asks for redelivery when stage-failed cannot be reached, and announces once it can', async () => {
    const { publisher, documents } = setup();
    let down = true;
    const flaky = {
      publish: async (event: AnyEvent) => {
        if (down) throw new TransientError('BUS.UNAVAILABLE', 'Pub/Sub is unavailable');
        return publisher.publish(event);
      },
    };
    const push = {
      type: 'google.cloud.pubsub.topic.v1.messagePublished',
      source: '//pubsub.googleapis.com/projects/acme/topics/dead-letter',
      data: { message: { data: '', attributes: policy('click-gen.pipeline-start'), messageId: '77' } },
    };
    const deps = { publisher: flaky, documents, log: silentLogger };
    expect(await relayPush(push, deps)).toMatchObject({ status: 'retry', code: 'DLQ.PUBLISH_FAILED' });
    expect(await documents.count(RELAY_COLLECTION)).toBe(0);
    down = false;
    expect(await relayPush(push, deps)).toEqual({ status: 'handled' });
    expect(await relayPush(push, deps)).toEqual({ status: 'handled' });
    expect(publisher.events).toHaveLength(1);
  });

  it('refuses, without retrying, a push that is not a Pub/Sub message', async () => {
    const { publisher, deps } = setup();
    const outcome = await relayPush({ type: 'mlops.bronze.landed.v1', data: {} }, deps);
    expect(outcome).toMatchObject({ status: 'dead-lettered', code: 'DLQ.NOT_A_DEAD_LETTER' });
    expect(publisher.events).toHaveLength(0);
  });
});
