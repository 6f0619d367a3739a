import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ok } from './fixtures/http.js';
import { buildWorld, type World } from './fixtures/world.fixture.js';

let world: World;

beforeAll(async () => {
  world = await buildWorld();
});
afterAll(async () => {
  await world?.close();
});

interface Stage {
  stage: string;
  status: string;
  durationMs: number | null;
  detail: string | null;
}
interface Run {
  runId: string;
  runDate: string;
  status: string;
  durationMs: number;
  stages: Stage[];
}

describe('operations API', () => {
  it('lists runs newest first with their stages and durations', async () => {
    const answer = await ok<{ total: number; byStatus: Record<string, number>; runs: Run[] }>(
      world,
      '/api/operations/runs?limit=500',
    );
    expect(answer.total).toBe(40);
    expect(answer.byStatus).toEqual({ succeeded: 38, failed: 1, running: 1 });
    expect(answer.runs.map((run) => run.runDate)).toEqual([...answer.runs.map((run) => run.runDate)].sort().reverse());
    const [inProgress, , , , failed] = answer.runs;
    expect(inProgress!.status).toBe('running');
    expect(failed!.status).toBe('failed');
    const transformer = failed!.stages.find((stage) => stage.stage === 'transformer')!;
    expect(transformer.status).toBe('failed');
    expect(transformer.detail).toContain('TRANSFORMER.ASSERTION_FAILED');
    // Run index 29 of 0..39 (2026-06-20): sales generated 12 + 29 % 5 = 16 s after the start, the lander
    // 30 + 29 % 7 = 31 s, the transform (which starts at the first landing, clickstream at 18 s) ends at
    // 75 + 29 % 9 = 77 s, predictions at 170 s.
    const run = answer.runs.find((item) => item.runDate === '2026-06-20')!;
    const stage = (name: string) => run.stages.find((item) => item.stage === name)!;
    expect(stage('sales-gen').durationMs).toBe(16_000);
    expect(stage('lander').durationMs).toBe(31_000 - 16_000);
    expect(stage('transformer').durationMs).toBe(77_000 - 18_000);
    expect(run.durationMs).toBe(170_000);
    expect(run.status).toBe('succeeded');
  });

  it('filters runs by run date and limits them', async () => {
    const answer = await ok<{ total: number; runs: Run[] }>(
      world,
      '/api/operations/runs?from=2026-06-01&to=2026-06-10&limit=3',
    );
    expect(answer.total).toBe(10);
    expect(answer.runs.map((run) => run.runDate)).toEqual(['2026-06-10', '2026-06-09', '2026-06-08']);
  });

  it('shows recent events, of all runs or of one', async () => {
    const entries = await world.ops.ledger.entries();
    const answer = await ok<{ events: { eventId: string; runId: string; time: string }[] }>(
      world,
      '/api/operations/events?limit=5',
    );
    expect(answer.events.map((event) => event.eventId)).toEqual(
      entries
        .slice(-5)
        .reverse()
        .map((entry) => entry.eventId),
    );
    const runId = entries[0]!.runId;
    const one = await ok<{ events: { runId: string }[] }>(world, `/api/operations/events?runId=${runId}&limit=100`);
    expect(one.events.length).toBe(entries.filter((entry) => entry.runId === runId).length);
    expect(new Set(one.events.map((event) => event.runId))).toEqual(new Set([runId]));
  });

  it('reports quarantine counts and assertion results per transform', async () => {
    const answer = await ok<{
      reports: { runDate: string; quarantineRows: number; assertionsPassed: number; assertionsFailed: number }[];
      failures: { code: string }[];
    }>(world, '/api/operations/quality?limit=500');
    expect(answer.reports).toHaveLength(38);
    // Run index i quarantines 5 + i % 11 sales rows and i % 3 clickstream rows.
    const dates = (await world.ops.ledger.runs()).map((run) => run.runDate).sort();
    for (const report of answer.reports) {
      const index = dates.indexOf(report.runDate);
      expect(report.quarantineRows).toBe(5 + (index % 11) + (index % 3));
      expect([report.assertionsPassed, report.assertionsFailed]).toEqual([2, 0]);
    }
    expect(answer.failures.map((failure) => failure.code)).toEqual(['TRANSFORMER.ASSERTION_FAILED']);
  });

  it('lists dead letters without payloads, subscriptions and promotions', async () => {
    const letters = await ok<{ deadLetters: Record<string, unknown>[] }>(world, '/api/operations/dead-letters');
    expect(letters.deadLetters.map((letter) => letter.code)).toEqual(['TRAINER.NO_DATA', 'EVENT.SCHEMA_VIOLATION']);
    expect(letters.deadLetters.every((letter) => !('message' in letter))).toBe(true);
    const subscriptions = await ok<{ subscriptions: { subscription: string; dead: number }[] }>(
      world,
      '/api/operations/subscriptions',
    );
    expect(subscriptions.subscriptions.map((row) => [row.subscription, row.dead])).toEqual([
      ['trainer.warehouse-ready', 1],
      ['transformer.bronze-landed', 1],
    ]);
    const promotions = await ok<{ promotions: { version: string }[] }>(world, '/api/operations/promotions');
    const history = await world.ops.registry.promotions('churn');
    expect(promotions.promotions.map((p) => p.version)).toEqual(history.map((p) => p.version).reverse());
  });

  it('sums up operations in key figures', async () => {
    const { kpis } = await ok<{ kpis: Record<string, unknown> }>(world, '/api/kpis?view=operations');
    expect(kpis).toMatchObject({
      runs: 40,
      succeededRuns: 38,
      failedRuns: 1,
      runningRuns: 1,
      deadLetters: 2,
      promotions: (await world.ops.registry.promotions('churn')).length,
    });
    expect(kpis.lastRun).toMatchObject({ runDate: '2026-06-30', status: 'running' });
  });
});
