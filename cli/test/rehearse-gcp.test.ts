/**
 * `npm run rehearse:gcp`: the gcp chain on the emulators and stand-ins, every service a gcp-mode
 * process on the HTTP transport, ending with the gold tables compared with a local run. The parts
 * run here without engines (options, the Eventarc forwarder, the topology's names, the comparison
 * and the ledger wait); the whole rehearsal on a 3-day window at a twentieth of scale 1, skipped
 * with the reason where the emulators cannot run.
 */
import { execFile } from 'node:child_process';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { stageOfDeadLetterSubscription } from '@mlops/kernel';
import { skipWithoutEmulator } from '@mlops/testing';
import { repoRoot } from '../src/stack/processes.js';
import type { RunProgress } from '../src/stack/wait.js';
import { compareGold, comparisonLines } from '../../scripts/rehearse-gcp/compare.js';
import { startEventarcForwarder } from '../../scripts/rehearse-gcp/eventarc-forwarder.js';
import { closedApartFrom } from '../../scripts/rehearse-gcp/ledger-wait.js';
import { parseRehearsalOptions } from '../../scripts/rehearse-gcp/options.js';
import { eventarcSubscription, triggersOf } from '../../scripts/rehearse-gcp/topology.js';
import { trainerCheck } from '../../scripts/rehearse-gcp/vertex.js';

const skip =
  skipWithoutEmulator('pubsub', 'the gcp rehearsal') || skipWithoutEmulator('firestore', 'the gcp rehearsal');
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('the gcp rehearsal, piece by piece', () => {
  it.each([
    [[], /--from is required/],
    [['--from', '2026-02-01'], /--to is required/],
    [['--from', '2026-02-30', '--to', '2026-03-01'], /--from must be a date/],
    [['--from', '2026-03-02', '--to', '2026-03-01'], /--to \(2026-03-01\) is before --from/],
    [['--from', '2026-03-01', '--to', '2026-03-02', '--seed', '1.5'], /--seed must be a whole number/],
    [['--from', '2026-03-01', '--to', '2026-03-02', '--scale', '0'], /--scale must be a number above 0/],
    [['--from', '2026-03-01', '--to', '2026-03-02', '--seed'], /--seed needs a value/],
    [['--from', '2026-03-01', '--to', '2026-03-02', '--fast'], /unknown argument "--fast"/],
  ])('refuses the arguments %j', (argv, message) => {
    expect(() => parseRehearsalOptions(argv)).toThrow(message);
  });

  it('reads the window, seed, scale and flags', () => {
    expect(
      parseRehearsalOptions(['--from', '2026-09-01', '--to', '2026-10-10', '--seed', '7', '--scale', '0.5', '--keep']),
    ).toEqual({ from: '2026-09-01', to: '2026-10-10', seed: 7, scale: 0.5, keep: true, timeoutS: 3600, poison: true });
  });

  it('names each push subscription as Eventarc does, so the relay finds the stage of its dead letters', () => {
    const triggers = triggersOf(['lander', 'transformer', 'dashboard', 'dead-letters']);
    expect(triggers).toContainEqual({ service: 'transformer', topic: 'dataform-completions' });
    expect(triggers.filter((trigger) => trigger.service === 'dashboard').map((trigger) => trigger.topic)).not.toContain(
      'dead-letter',
    );
    for (const trigger of triggers.filter((candidate) => candidate.service !== 'dead-letters'))
      expect(stageOfDeadLetterSubscription(eventarcSubscription('europe-west1', trigger))).toBe(trigger.service);
  });

  it('forwards a push as Eventarc does: binary CloudEvent, no delivery attempt, the status unchanged', async () => {
    const seen: { headers: IncomingHttpHeaders; body: string }[] = [];
    let status = 500;
    const service = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        seen.push({ headers: request.headers, body });
        response.writeHead(status).end();
      });
    });
    await new Promise<void>((resolve) => service.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => service.close(() => resolve())));
    const forwarder = await startEventarcForwarder('p-rehearsal');
    cleanups.push(() => forwarder.close());
    forwarder.route('sub-1', {
      target: `http://127.0.0.1:${(service.address() as { port: number }).port}/`,
      topic: 't1',
    });
    const push = {
      message: { data: 'e30=', attributes: { a: 'b' }, messageId: '42', publishTime: '2026-03-01T00:00:00Z' },
      subscription: 'projects/p-rehearsal/subscriptions/sub-1',
      deliveryAttempt: 3,
    };
    const send = () => fetch(forwarder.endpoint('sub-1'), { method: 'POST', body: JSON.stringify(push) });
    expect((await send()).status).toBe(500);
    status = 204;
    expect((await send()).status).toBe(204);
    expect((await fetch(forwarder.endpoint('unknown'), { method: 'POST', body: '{}' })).status).toBe(404);
    expect(seen[0]!.headers).toMatchObject({
      'ce-specversion': '1.0',
      'ce-type': 'google.cloud.pubsub.topic.v1.messagePublished',
      'ce-source': '//pubsub.googleapis.com/projects/p-rehearsal/topics/t1',
      'ce-id': '42',
    });
    expect(JSON.parse(seen[0]!.body)).toEqual({ message: push.message, subscription: push.subscription });
    expect(forwarder.counts.get('sub-1')).toEqual(
      new Map([
        [500, 1],
        [204, 1],
      ]),
    );
  });

  it('says yes only when every compared table is equal, and which tables differ', () => {
    const local = {
      'warehouse.fct_sales': '3:1:2',
      'warehouse.dim_customer': '2:5:6',
      'warehouse.fact_predictions_churn': '9:1:1',
    };
    const same = compareGold(local, {
      'warehouse.fct_sales': '3:1:2',
      'warehouse.dim_customer': '2:5:6',
      'warehouse.fact_predictions_churn': '0:0:0',
    });
    expect(same.equal).toBe(true);
    expect(comparisonLines(same)).toEqual([
      'warehouse.dim_customer: 2 rows; equal',
      'warehouse.fact_predictions_churn: local 9 rows; not rehearsed (the trainer is not in the gcp chain yet)',
      'warehouse.fct_sales: 3 rows; equal',
      'gold tables equal to local mode: yes',
    ]);
    const differ = compareGold(local, { 'warehouse.fct_sales': '3:1:9', 'warehouse.extra': '1:1:1' }, true);
    expect(differ.equal).toBe(false);
    expect(comparisonLines(differ).at(-1)).toBe(
      'gold tables equal to local mode: no (warehouse.dim_customer, warehouse.extra, warehouse.fact_predictions_churn, warehouse.fct_sales)',
    );
    expect(compareGold({}, {}).equal).toBe(false);
  });

  it('waits for every stage but the ones not rehearsed', () => {
    const run = (stages: [string, string][], closed: number, expected: number) => ({
      stages: stages.map(([stage, status]) => ({ stage, status })),
      stagesClosed: closed,
      stagesExpected: expected,
    });
    const progress = (runs: ReturnType<typeof run>[]) => ({ runs }) as unknown as RunProgress;
    const ids = new Set(['r1', 'r2']);
    const trainerOpen = run(
      [
        ['transformer', 'succeeded'],
        ['trainer', 'running'],
      ],
      5,
      6,
    );
    expect(closedApartFrom(progress([trainerOpen, trainerOpen]), ids, new Set(['trainer']))).toBe(true);
    expect(closedApartFrom(progress([trainerOpen, trainerOpen]), ids, new Set())).toBe(false);
    expect(closedApartFrom(progress([trainerOpen]), ids, new Set(['trainer']))).toBe(false);
    const landerOpen = run(
      [
        ['lander', 'running'],
        ['trainer', 'running'],
      ],
      4,
      6,
    );
    expect(closedApartFrom(progress([trainerOpen, landerOpen]), ids, new Set(['trainer']))).toBe(false);
  });

  it('passes the trainer only when its stage closed and every Vertex AI job it ran has ended', () => {
    const progress = (status: string) =>
      ({
        runs: [
          {
            stages: [
              { stage: 'lander', status: 'succeeded' },
              { stage: 'trainer', status },
            ],
          },
        ],
      }) as unknown as RunProgress;
    const job = (state: string, tasks = 1) => ({
      name: 'projects/p/locations/europe-west1/pipelineJobs/churn-train-abc',
      state,
      tasks: Array.from({ length: tasks }, (_, i) => ({ taskName: `t${i}`, state: 3 })),
    });
    expect(trainerCheck({ progress: progress('succeeded'), vertexJobs: [job('PIPELINE_STATE_SUCCEEDED', 5)] })).toEqual(
      [true, 'trainer: 1 stage(s) succeeded; 1 Vertex AI PipelineJob(s): churn-train-abc succeeded after 5 task(s)'],
    );
    expect(trainerCheck({ progress: progress('skipped'), vertexJobs: [job('PIPELINE_STATE_FAILED')] })[0]).toBe(true);
    // Still open, a job still running, no job at all (the trainer decided in-process), no trainer stage.
    expect(trainerCheck({ progress: progress('running'), vertexJobs: [job('PIPELINE_STATE_SUCCEEDED')] })[0]).toBe(
      false,
    );
    expect(trainerCheck({ progress: progress('succeeded'), vertexJobs: [job('PIPELINE_STATE_RUNNING')] })[0]).toBe(
      false,
    );
    expect(trainerCheck({ progress: progress('succeeded'), vertexJobs: [] })).toEqual([
      false,
      'trainer: 1 stage(s) succeeded; 0 Vertex AI PipelineJob(s)',
    ]);
    expect(
      trainerCheck({
        progress: { runs: [] } as unknown as RunProgress,
        vertexJobs: [job('PIPELINE_STATE_SUCCEEDED')],
      })[0],
    ).toBe(false);
  });
});

describe.skipIf(skip)('npm run rehearse:gcp', () => {
  it('runs 3 days in gcp mode on the stand-ins, the trainer on Vertex AI, dead-letters the poison, matches local mode', async () => {
    const tsx = pathToFileURL(join(repoRoot, 'node_modules/tsx/dist/loader.mjs')).href;
    const args = ['--from', '2026-02-01', '--to', '2026-02-03', '--scale', '0.05'];
    const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      execFile(
        process.execPath,
        ['--conditions=@mlops/source', '--import', tsx, join(repoRoot, 'scripts/rehearse-gcp/main.ts'), ...args],
        { cwd: repoRoot, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' }, timeout: 1_500_000 },
        (error, out, err) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout: out, stderr: err }),
      ),
    );
    expect(code, `${stdout}\n${stderr}`).toBe(0);
    // The trainer joins the backfill's last run: its job's first step declines 3 days of history.
    expect(stdout).toMatch(/^ok {3}gcp run: 3 run\(s\), 16\/16 stages closed$/m);
    expect(stdout).toMatch(
      /^ok {3}trainer: 1 stage\(s\) skipped; 1 Vertex AI PipelineJob\(s\): churn-train-[0-9a-f]{24} failed after 1 task\(s\)$/m,
    );
    expect(stdout).toMatch(/^ok {3}gcp processes wrote no DuckDB or SQLite file$/m);
    expect(stdout).toMatch(
      /^ok {3}poison \(400 kB sales\.generated, run run_\w+\): refused 5 time\(s\) by the lander, dead-lettered by Pub\/Sub; 1 stage\.failed from the lander \(BUS\.DELIVERY_EXHAUSTED, 5 delivery attempts\)$/m,
    );
    expect(stdout).toMatch(
      /^ok {3}poison \(invalid sales\.generated, run run_\w+\): .* 1 stage\.failed from the lander \(EVENT\.SCHEMA_VIOLATION\)$/m,
    );
    expect(stdout).toMatch(/^warehouse\.fct_sales: [1-9]\d* rows; equal$/m);
    expect(stdout).toMatch(/^warehouse\.dim_customer: [1-9]\d* rows; equal$/m);
    expect(stdout).toMatch(/^warehouse\.fact_predictions_churn: 0 rows; equal$/m);
    expect(stdout).toMatch(/^gold tables equal to local mode: yes$/m);
  }, 1_800_000);
});
