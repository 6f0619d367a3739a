import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PermanentError, TransientError, settle, type Settlement } from '@mlops/kernel';

const policy = { maxAttempts: 3, backoff: { minMs: 100, maxMs: 1_000 } };
const half = () => 0.5;

describe('the settlement rule', () => {
  it.each<[string, Parameters<typeof settle>[0], number, Partial<Settlement>]>([
    ['success', { ok: true }, 1, { action: 'ack' }],
    ['success on the last attempt', { ok: true }, 3, { action: 'ack' }],
    [
      'a permanent error on the first attempt',
      { ok: false, error: new PermanentError('LANDER.SOURCE_EMPTY', 'no orders') },
      1,
      { action: 'dead-letter', code: 'LANDER.SOURCE_EMPTY', reason: 'no orders', exhausted: false },
    ],
    [
      'a transient error before the limit',
      { ok: false, error: new TransientError('TRAINER.WAREHOUSE_BUSY', 'busy') },
      2,
      { action: 'retry', delayMs: 150, code: 'TRAINER.WAREHOUSE_BUSY', reason: 'busy' },
    ],
    [
      'a transient error on the last attempt',
      { ok: false, error: new TransientError('TRAINER.WAREHOUSE_BUSY', 'busy') },
      3,
      {
        action: 'dead-letter',
        code: 'BUS.MAX_ATTEMPTS',
        cause: 'TRAINER.WAREHOUSE_BUSY',
        reason: 'gave up after 3 attempts: [TRAINER.WAREHOUSE_BUSY] busy',
        exhausted: true,
      },
    ],
    [
      'an unexpected error (a bug) is retried like a transient one',
      { ok: false, error: new Error('undefined is not a function') },
      1,
      { action: 'retry', code: 'INTERNAL.UNEXPECTED', delayMs: 75 },
    ],
    [
      'a system error keeps its code',
      { ok: false, error: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }) },
      3,
      { action: 'dead-letter', code: 'BUS.MAX_ATTEMPTS', cause: 'SYSTEM.ECONNRESET' },
    ],
  ])('%s', (_why, outcome, attempt, expected) => {
    expect(settle(outcome, attempt, policy, half)).toMatchObject(expected);
  });

  it('never exhausts without an attempt limit, and backs off exponentially up to the cap', () => {
    const busy = { ok: false as const, error: new TransientError('X.BUSY', 'busy') };
    expect(settle(busy, 1_000, {}).action).toBe('retry');
    const delays = [1, 2, 3, 4, 5, 6].map((attempt) => settle(busy, attempt, { backoff: policy.backoff }, () => 1));
    expect(delays.map((s) => (s.action === 'retry' ? s.delayMs : -1))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('is the only place that compares an attempt with the attempt limit', () => {
    const root = fileURLToPath(new URL('../../../', import.meta.url));
    const sources = (dir: string): string[] =>
      readdirSync(dir).flatMap((name) => {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) return name === 'node_modules' ? [] : sources(path);
        return path.endsWith('.ts') ? [path] : [];
      });
    const files = [
      ...['kernel', 'adapters-local', 'adapters-gcp', 'platform', 'synthetic'].flatMap((pkg) =>
        sources(join(root, 'shared', pkg, 'src')),
      ),
      ...sources(join(root, 'cli/src')),
      ...readdirSync(join(root, 'services')).flatMap((service) => sources(join(root, 'services', service, 'src'))),
    ];
    const comparisons = files.filter((file) =>
      /(attempts?\w*\s*[<>]=?\s*[\w.]*maxAttempts|maxAttempts\s*[<>]=?\s*[\w.]*attempt)/i.test(
        readFileSync(file, 'utf8'),
      ),
    );
    expect(comparisons.map((file) => file.slice(root.length))).toEqual(['shared/kernel/src/runtime/settlement.ts']);
  });
});
