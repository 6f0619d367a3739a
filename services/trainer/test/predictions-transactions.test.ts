import { describe, expect, it } from 'vitest';
import { transactionsOf, type VersionScores } from '../src/data/predictions.table.js';

/** Scores of one version whose rows carry their keys: `rows[i]` rows on snapshot `2026-10-0<i+1>`. */
function carried(version: string, rows: readonly number[]): VersionScores {
  const dates = rows.map((_, index) => `2026-10-0${index + 1}`);
  const snapshots = dates.flatMap((date, index) => Array.from({ length: rows[index]! }, () => date));
  return {
    request: { modelVersion: version, dates } as unknown as VersionScores['request'],
    keys: { customers: snapshots.map((_, row) => `c${row}`), snapshots },
    probabilities: Float64Array.from(snapshots, (_, row) => row / 100),
    snapshots: dates.map((date, index) => ({
      snapshotDate: date,
      rows: rows[index]!,
      riskBands: { low: rows[index]!, medium: 0, high: 0 },
    })),
    rows: snapshots.length,
    timings: { readMs: 0, scoreMs: 0 },
  };
}

function byRowId(version: string, n: number): VersionScores {
  return { ...carried(version, [n]), keys: { rowIds: new Float64Array(n) } };
}

/** Each transaction as `version:date,date` parts. */
function shape(transactions: VersionScores[][]): string[][] {
  return transactions.map((parts) =>
    parts.map((part) => `${part.request.modelVersion}:${part.request.dates.map((date) => date.slice(-1)).join(',')}`),
  );
}

describe('transactions of batch prediction', () => {
  it.each([
    {
      name: 'everything fits one transaction',
      scored: [carried('a', [2, 3]), carried('b', [1])],
      shape: [['a:1,2', 'b:1']],
    },
    { name: 'whole snapshots split at the bound', scored: [carried('a', [4, 4, 4])], shape: [['a:1,2'], ['a:3']] },
    {
      name: 'a snapshot above the bound goes alone',
      scored: [carried('a', [2, 12, 1])],
      shape: [['a:1'], ['a:2'], ['a:3']],
    },
    {
      name: 'another version starts a transaction when it does not fit',
      scored: [carried('a', [6]), carried('b', [5])],
      shape: [['a:1'], ['b:1']],
    },
    {
      name: 'rows named by row id stay in one transaction',
      scored: [byRowId('a', 50), byRowId('b', 50)],
      shape: [['a:1', 'b:1']],
    },
  ])('$name', ({ scored, shape: expected }) => {
    const transactions = transactionsOf(scored, 10);
    expect(shape(transactions)).toEqual(expected);
    // Every scored row is written once, with its own key and probability.
    const written = transactions
      .flat()
      .flatMap((part) =>
        'customers' in part.keys
          ? part.keys.customers.map((id, row) => `${part.request.modelVersion}/${id}/${part.probabilities[row]}`)
          : [],
      );
    const all = scored.flatMap((part) =>
      'customers' in part.keys
        ? part.keys.customers.map((id, row) => `${part.request.modelVersion}/${id}/${part.probabilities[row]}`)
        : [],
    );
    expect(written.sort()).toEqual(all.sort());
    for (const part of transactions.flat())
      expect(part.rows).toBe(part.snapshots.reduce((sum, snapshot) => sum + snapshot.rows, 0));
  });
});
