import { describe, expect, it } from 'vitest';
import { QueryParams, isCalendarDate } from '../src/params.js';

function codeOf(work: () => unknown): string | undefined {
  try {
    work();
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code;
  }
}

describe('query parameters', () => {
  it.each([
    ['2026-02-28', true],
    ['2024-02-29', true],
    ['2026-02-29', false],
    ['2026-02-30', false],
    ['2026-13-01', false],
    ['2026-1-01', false],
    ['20260101', false],
    ['2026-01-01T00:00:00Z', false],
    ["2026-01-01' or 1=1 --", false],
  ])('judges %s a calendar date: %s', (value, expected) => {
    expect(isCalendarDate(value)).toBe(expected);
  });

  it.each([
    ['a backwards range', { from: '2026-05-02', to: '2026-05-01' }, 'DASHBOARD.RANGE_BACKWARDS'],
    ['a malformed date', { from: '05/01/2026' }, 'DASHBOARD.BAD_DATE'],
    ['an impossible date', { to: '2026-02-30' }, 'DASHBOARD.BAD_DATE'],
  ])('refuses %s', (_name, raw, code) => {
    expect(codeOf(() => QueryParams.of(raw, ['from', 'to']).range())).toBe(code);
  });

  it('accepts open and single-day ranges', () => {
    expect(QueryParams.of({}, ['from', 'to']).range()).toEqual({ from: null, to: null });
    expect(QueryParams.of({ from: '2026-05-01', to: '2026-05-01' }, ['from', 'to']).range()).toEqual({
      from: '2026-05-01',
      to: '2026-05-01',
    });
    expect(QueryParams.of({ from: '' }, ['from', 'to']).range()).toEqual({ from: null, to: null });
  });

  it.each([
    ['above the maximum', '101', 'DASHBOARD.LIMIT_TOO_LARGE'],
    ['huge', '99999999999', 'DASHBOARD.LIMIT_TOO_LARGE'],
    ['zero', '0', 'DASHBOARD.BAD_PARAMETER'],
    ['negative', '-5', 'DASHBOARD.BAD_PARAMETER'],
    ['fractional', '2.5', 'DASHBOARD.BAD_PARAMETER'],
    ['not a number', 'ten', 'DASHBOARD.BAD_PARAMETER'],
  ])('refuses a limit that is %s', (_name, limit, code) => {
    expect(codeOf(() => QueryParams.of({ limit }, ['limit']).limit({ fallback: 10, max: 100 }))).toBe(code);
  });

  it('uses the default limit and accepts the maximum', () => {
    expect(QueryParams.of({}, ['limit']).limit({ fallback: 10, max: 100 })).toBe(10);
    expect(QueryParams.of({ limit: '100' }, ['limit']).limit({ fallback: 10, max: 100 })).toBe(100);
  });

  it('refuses unknown and repeated parameters', () => {
    expect(codeOf(() => QueryParams.of({ form: '2026-01-01' }, ['from', 'to']))).toBe('DASHBOARD.UNKNOWN_PARAMETER');
    expect(codeOf(() => QueryParams.of({ from: ['2026-01-01', '2026-01-02'] }, ['from', 'to']))).toBe(
      'DASHBOARD.BAD_PARAMETER',
    );
  });

  it('checks choices and identifiers', () => {
    expect(QueryParams.of({ groupBy: 'region' }, ['groupBy']).choice('groupBy', ['day', 'region'], 'day')).toBe(
      'region',
    );
    expect(
      codeOf(() => QueryParams.of({ groupBy: 'city' }, ['groupBy']).choice('groupBy', ['day', 'region'], 'day')),
    ).toBe('DASHBOARD.BAD_PARAMETER');
    expect(QueryParams.of({ runId: 'run_20260601_x-1' }, ['runId']).identifier('runId')).toBe('run_20260601_x-1');
    expect(codeOf(() => QueryParams.of({ runId: "x' or '1'='1" }, ['runId']).identifier('runId'))).toBe(
      'DASHBOARD.BAD_PARAMETER',
    );
  });
});
