/**
 * The emulator stack (`mlops stack up`: Google's Pub/Sub and Firestore emulators from the Cloud
 * SDK, every service its own process): a backfill with `--attach`, run with nothing but the
 * environment the stack printed, completes with nothing dead-lettered. Skipped, with the reason,
 * where the emulators cannot run.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { skipWithoutEmulator, tempDir } from '@mlops/testing';
import { mlops, parseExportLine, startStack, type RunningStack } from './fixtures/stack.harness.js';

const skip =
  skipWithoutEmulator('pubsub', 'the emulator stack') || skipWithoutEmulator('firestore', 'the emulator stack');
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe.skipIf(skip)('mlops stack up with the emulators', () => {
  it('runs a backfill attached, with only the printed environment', async () => {
    const home = tempDir('mlops-emulator-stack-');
    cleanups.push(home.remove);
    const stack: RunningStack = await startStack({
      env: { MLOPS_HOME: home.path, MLOPS_DASHBOARD_PORT: '0', MLOPS_CHURN_HORIZON_DAYS: '7' },
      emulators: true,
    });
    cleanups.push(async () => {
      if (stack.process.exitCode === null) await stack.stop();
    });
    const env = parseExportLine(stack.exportLine);
    expect(env).toMatchObject({
      MLOPS_MODE: 'emulator',
      MLOPS_HOME: home.path,
      GOOGLE_CLOUD_PROJECT: 'mlops-local',
      PUBSUB_EMULATOR_HOST: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
      FIRESTORE_EMULATOR_HOST: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
      MLOPS_PII_HMAC_KEY: expect.any(String),
    });
    const backfill = await mlops(
      ['backfill', '--from', '2026-02-01', '--to', '2026-02-14', '--attach', '--timeout', '1500'],
      env,
    );
    expect(backfill.code, `${backfill.stdout}\n${backfill.stderr}\n${stack.output().slice(-5000)}`).toBe(0);
    expect((await mlops(['dlq', 'list'], env)).stdout).toContain('no dead letters');
    expect(await stack.stop()).toBe(0);
  }, 1_800_000);
});
