/**
 * The transformer in gcp mode against the Dataform stand-in, through the real `@google-cloud/dataform`
 * client (REST): the landed partition that completes a date submits the invocation and returns
 * within a second; the stand-in runs the project on DuckDB and hands over the completion entry a
 * Cloud Logging sink would publish; pushed as Eventarc pushes `dataform-completions`, it makes the
 * transformer re-read the invocation and announce `warehouse.ready` once. A run that fails for real
 * is announced as `stage.failed` and leaves its dates to be built again.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { v1 } from '@google-cloud/dataform';
import { startDataformStandin, type DataformStandin } from '@mlops/gcp-standins';
import { DataformApiTransformRunner, type DataformApiClient } from '@mlops/adapters-gcp';
import { handlePushDelivery, silentLogger, type BronzeLanded, type PushOutcome, type Service } from '@mlops/kernel';
import { openDuckDbWarehouse } from '@mlops/adapters-local';
import { InMemoryDocumentStore, RecordingPublisher, deliver, testEvent, waitFor } from '@mlops/testing';
import { GeneratedLake } from '@mlops/testing/fixtures';
import { OAuth2Client } from 'google-auth-library';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INVOCATIONS_COLLECTION, LEDGER_COLLECTION, createTransformerService } from '../src/index.js';

const PROJECT = resolve(import.meta.dirname, '../../../dataform');
const PROJECT_ID = 'mlops-standin';
const REPOSITORY = `projects/${PROJECT_ID}/locations/europe-west1/repositories/mlops`;

describe('transformer completing Dataform invocations asynchronously (gcp, Dataform stand-in)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mlops-completion-'));
  const lake = new GeneratedLake(join(dir, 'lake'), { seed: 5, scale: 0.05, dirtyShare: 0.05 });
  const completions: Record<string, unknown>[] = [];
  const documents = new InMemoryDocumentStore();
  const publisher = new RecordingPublisher();
  let standin: DataformStandin;
  let client: InstanceType<typeof v1.DataformClient>;
  let service: Service;
  let landed: BronzeLanded[] = [];
  let messages = 0;

  /** A completion entry as Eventarc pushes the log sink's message to the transformer. */
  const push = (data: Buffer): Promise<PushOutcome> => {
    messages += 1;
    return handlePushDelivery(
      service,
      {
        type: 'google.cloud.pubsub.topic.v1.messagePublished',
        source: `//pubsub.googleapis.com/projects/${PROJECT_ID}/topics/dataform-completions`,
        id: `push-${messages}`,
        data: {
          message: { data: data.toString('base64'), messageId: `m-${messages}`, publishTime: new Date().toISOString() },
          subscription: `projects/${PROJECT_ID}/subscriptions/eventarc-europe-west1-transformer-dataform-completions-sub-1`,
        },
      },
      { bus: publisher, log: silentLogger, maxAttempts: 5, maxMessageBytes: 262_144 },
    );
  };
  const send = (data: BronzeLanded, id: string) =>
    deliver(service, testEvent('mlops.bronze.landed.v1', data, data.runDate, { id, runid: `run_${data.runDate}` }), {
      publisher,
    });

  beforeAll(async () => {
    landed = await lake.landDay('2026-01-05', { fullLoadDate: '2026-01-05' });
    standin = await startDataformStandin({
      projectId: PROJECT_ID,
      projectDir: PROJECT,
      lakeRoot: lake.root,
      warehousePath: join(dir, 'warehouse.duckdb'),
      onCompletion: (entry) => void completions.push(entry),
      log: () => undefined,
    });
    const authClient = new OAuth2Client();
    authClient.setCredentials({ access_token: 'standin-token', expiry_date: Date.now() + 3_600_000 });
    client = new v1.DataformClient({
      fallback: true,
      apiEndpoint: '127.0.0.1',
      port: standin.port,
      protocol: 'http',
      authClient,
    } as unknown as ConstructorParameters<typeof v1.DataformClient>[0]);
    const runner = new DataformApiTransformRunner({
      client: client as unknown as DataformApiClient,
      repository: REPOSITORY,
      gitCommitish: 'main',
      defaultDatabase: PROJECT_ID,
    });
    service = createTransformerService({ documents, runner });
    // A service process loads the client's protos and auth once, at its first call: not per request.
    await client.getWorkflowInvocation({ name: `${REPOSITORY}/workflowInvocations/warm-up` }).catch(() => undefined);
  }, 180_000);

  /** A completion that is not SUCCEEDED fails the test with the stand-in's failure reasons. */
  const expectSucceeded = async (completion: Record<string, unknown> | undefined, invocation: string) => {
    const state = (completion?.jsonPayload as { terminalState?: string } | undefined)?.terminalState;
    if (state === 'SUCCEEDED') return;
    const [actions] = await client.queryWorkflowInvocationActions({ name: invocation });
    const reasons = actions
      .filter((action) => action.failureReason)
      .map((action) => `${action.target?.schema}.${action.target?.name}: ${action.failureReason}`);
    expect.fail(`the invocation ended ${state}: ${reasons.join('; ') || 'no reason given'}`);
  };

  afterAll(async () => {
    await client?.close();
    await standin?.stop();
    await lake.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('returns within a second of submitting, and announces warehouse.ready once when the completion arrives', async () => {
    const timings: number[] = [];
    const submitted = performance.now();
    for (const data of landed) {
      const started = performance.now();
      await send(data, `landed/${data.runDate}/${data.source}`);
      timings.push(performance.now() - started);
      // Nothing waits: every delivery returns while the invocation is still running.
      expect(completions).toEqual([]);
    }
    expect(publisher.ofType('mlops.warehouse.ready.v1')).toEqual([]);
    const records = [];
    for await (const stored of documents.query(INVOCATIONS_COLLECTION)) records.push(stored);
    const [record] = records;
    expect(record?.data).toMatchObject({ status: 'running', runid: 'run_2026-01-05' });
    expect((await documents.get(LEDGER_COLLECTION, 'built_2026-01-05'))?.data.status).toBe('pending');

    // A redelivery while the invocation runs submits nothing more.
    await send(landed[0]!, `landed/again`);
    expect(await documents.count(INVOCATIONS_COLLECTION)).toBe(1);

    await waitFor(() => completions.length === 1, 'the first invocation to end', 180_000);
    // Within a second on an idle machine; on a loaded one (the stand-in compiles and runs in this
    // process), still a small share of the run it started.
    const invocationMs = performance.now() - submitted;
    expect(Math.max(...timings)).toBeLessThan(Math.max(1000, invocationMs / 10));
    await expectSucceeded(completions[0], String(record!.data.invocation));
    const entry = Buffer.from(JSON.stringify(completions[0]));
    expect(await push(entry)).toEqual({ status: 'handled' });
    expect(await push(entry)).toEqual({ status: 'handled' });
    const ready = publisher.ofType('mlops.warehouse.ready.v1');
    expect(ready).toHaveLength(1);
    expect(ready[0]).toMatchObject({
      runid: 'run_2026-01-05',
      rundate: '2026-01-05',
      causationid: 'landed/2026-01-05/startups',
      data: { runDates: ['2026-01-05'], engine: 'bigquery', invocation: record!.data.invocation },
    });
    expect(ready[0]!.data.assertions.length).toBeGreaterThan(0);
    expect((await documents.get(LEDGER_COLLECTION, 'built_2026-01-05'))?.data.status).toBe('ready');

    // The stand-in built the warehouse for real.
    await standin.idle();
    const warehouse = await openDuckDbWarehouse({ path: join(dir, 'warehouse.duckdb'), readOnly: true });
    try {
      const [row] = await warehouse.query<{ n: number }>(
        'select count(*)::integer as n from warehouse.warehouse.fct_sales',
      );
      expect(row!.n).toBeGreaterThan(0);
    } finally {
      await warehouse.close();
    }
  }, 300_000);

  it('ignores completions of invocations it did not start, and dead-letters an entry that is not one', async () => {
    const foreign = {
      jsonPayload: { workflowInvocationId: '1700000000-0000-unknown', terminalState: 'SUCCEEDED' },
    };
    expect(await push(Buffer.from(JSON.stringify(foreign)))).toEqual({ status: 'handled' });
    const before = publisher.events.length;
    const outcome = await push(Buffer.from('{"jsonPayload": {"terminalState": "SUCCEEDED"}}'));
    expect(outcome).toMatchObject({ status: 'dead-lettered', code: 'TRANSFORMER.BAD_COMPLETION' });
    expect(outcome.status === 'dead-lettered' && outcome.reason).toContain('workflowInvocationId');
    const announced = publisher.events.slice(before);
    expect(announced).toHaveLength(1);
    expect(announced[0]).toMatchObject({
      type: 'mlops.stage.failed.v1',
      runid: 'run_unknown',
      data: { stage: 'transformer' },
    });
  });

  it('announces a run that failed for real as stage.failed and lets its date be built again', async () => {
    // Partitions that are not what they claim to be (a Parquet file of garbage): the run on DuckDB fails.
    const broken = landed
      .filter((data) => data.source !== 'startups')
      .map((data) => {
        const key = data.objects[0]!.key.replace('2026-01-05', '2026-01-06');
        mkdirSync(dirname(join(lake.root, key)), { recursive: true });
        writeFileSync(join(lake.root, key), 'this is not a partition');
        return {
          ...data,
          runDate: '2026-01-06',
          prefix: data.prefix.replace('2026-01-05', '2026-01-06'),
          objects: [{ ...data.objects[0]!, key }],
        };
      });
    for (const data of broken) await send(data, `landed/${data.runDate}/${data.source}`);
    expect((await documents.get(LEDGER_COLLECTION, 'built_2026-01-06'))?.data.status).toBe('pending');
    await waitFor(() => completions.length === 2, 'the second invocation to end', 180_000);
    expect(completions[1]).toMatchObject({ jsonPayload: { terminalState: 'FAILED' } });
    expect(await push(Buffer.from(JSON.stringify(completions[1])))).toEqual({ status: 'handled' });
    const failed = publisher.ofType('mlops.stage.failed.v1').filter((event) => event.runid === 'run_2026-01-06');
    expect(failed).toHaveLength(1);
    expect(failed[0]!.data).toMatchObject({ stage: 'transformer', code: 'DATAFORM.INVOCATION_FAILED' });
    expect(await documents.get(LEDGER_COLLECTION, 'built_2026-01-06')).toBeUndefined();
  }, 300_000);
});
