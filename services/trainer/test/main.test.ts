import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { processHarness, waitForValue } from '@mlops/testing';
import { createEvent } from '@mlops/kernel';
import { SqliteEventBus } from '@mlops/adapters-local';

// The trainer as its own process: `src/main.ts`, as `npx tsx --conditions=@mlops/source services/trainer/src/main.ts` starts it.
const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
/** How long a child process gets to start, answer or let go (tsx compiles on first start). */
const WAIT_MS = 30_000;

describe('trainer process', () => {
  const harness = processHarness(main, 'trainer-main-');
  afterEach(() => harness.stop());

  it('exits 1 naming the setting when the configuration is bad', async () => {
    const run = harness.start({ MLOPS_HOME: harness.home(), MLOPS_CHURN_HORIZON_DAYS: 'a month' });
    expect(await run.exited).toBe(1);
    expect(run.output()).toContain('MLOPS_CHURN_HORIZON_DAYS');
  });

  it('exits 1 in gcp mode without the image the pipeline steps run', async () => {
    // Credentials that are found (the check before the settings) but never used: nothing is called.
    const folder = harness.home();
    const credentials = join(folder, 'adc.json');
    writeFileSync(
      credentials,
      JSON.stringify({ type: 'authorized_user', client_id: 'id', client_secret: 'secret', refresh_token: 'token' }),
    );
    const run = harness.start({
      MLOPS_HOME: folder,
      GOOGLE_APPLICATION_CREDENTIALS: credentials,
      MLOPS_MODE: 'gcp',
      GOOGLE_CLOUD_PROJECT: 'mlops-test',
      MLOPS_LAKE: 'gs://mlops-lake-test',
      MLOPS_PII_HMAC_KEY: 'a-secret-of-16-chars',
    });
    expect(await run.exited).toBe(1);
    expect(run.output()).toContain('"setting":"MLOPS_IMAGE"');
  });

  it('consumes warehouse-ready from the embedded bus, stores the compiled pipelines, and stops on SIGTERM', async () => {
    const folder = harness.home();
    const run = harness.start({
      MLOPS_HOME: folder,
      MLOPS_BACKOFF_MIN_MS: '10',
      MLOPS_BACKOFF_MAX_MS: '20',
      MLOPS_MAX_ATTEMPTS: '2',
    });
    await waitForValue(
      () => (run.output().includes('trainer listening') ? true : undefined),
      `the trainer to listen (output: ${run.output()})`,
      WAIT_MS,
    );
    expect(existsSync(join(folder, 'lake/mlops/pipelines/mlops-churn-training/latest.json'))).toBe(true);

    // The transformer (another process) announces a warehouse whose assertion failed: refused, dead-lettered.
    const bus = new SqliteEventBus({ path: join(folder, 'bus.sqlite') });
    try {
      await bus.publish(
        createEvent(
          'mlops.warehouse.ready.v1',
          {
            runDates: ['2026-06-01'],
            tables: [],
            quarantine: [],
            assertions: [{ name: 'warehouse_fct_sales_assertions_uniqueKey_0', passed: false, failingRows: 2 }],
            engine: 'duckdb',
            durationMs: 1,
          },
          { source: '//mlops/transformer', runid: 'run_20260601_main', rundate: '2026-06-01' },
        ) as never,
      );
      const [dead] = await waitForValue(
        async () => {
          const letters = await bus.listDeadLetters({ subscription: 'trainer.warehouse-ready' });
          return letters.length > 0 ? letters : undefined;
        },
        `a dead letter (output: ${run.output()})`,
        WAIT_MS,
      );
      expect(dead).toMatchObject({ code: 'TRAINER.ASSERTIONS_FAILED', eventType: 'mlops.warehouse.ready.v1' });
    } finally {
      await bus.close();
    }
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
  });
});
