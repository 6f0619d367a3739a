import { describe, expect, it } from 'vitest';
import {
  DIRTY_KINDS,
  HOSTILE_COMPANY_NAMES,
  STARTUP_UNIVERSE,
  dayNumber,
  generateStartupCompanies,
  startupFullLoadDate,
  startupLoadOn,
  startupsExpectedOn,
  type GeneratedRecord,
  type StartupLoadType,
} from '@mlops/synthetic';
import { recordProblems } from '@mlops/kernel';

const world = { seed: 42, scale: 1, dirtyShare: 0.01 };
const load = (date: string, loadType: StartupLoadType, overrides: Partial<typeof world> = {}): GeneratedRecord[] => [
  ...generateStartupCompanies({ ...world, ...overrides, date, loadType }),
];

describe('startup companies', () => {
  const full = load('2026-03-06', 'full');

  it('has a full load of about 1,000 companies at scale 1, with unique ids', () => {
    const clean = full.filter((row) => row.dirty !== 'duplicate_id');
    expect(clean.length).toBeGreaterThan(900);
    expect(clean.length).toBeLessThan(1100);
    expect(new Set(clean.map((row) => row.id)).size).toBe(clean.length);
  });

  it('is the same for the same seed, scale and date', () => {
    expect(load('2026-03-06', 'full')).toEqual(full);
    expect(load('2026-03-06', 'full', { seed: 9 }).map((row) => row.id)).not.toEqual(full.map((row) => row.id));
  });

  it('writes clean rows that validate against schemas/records/startup-company, and dirty ones of every kind', () => {
    expect(
      full
        .filter((row) => !row.dirty)
        .map((row) => recordProblems('startup-company', row.data))
        .filter(Boolean),
    ).toEqual([]);
    const dirty = full.filter((row) => row.dirty);
    expect(new Set(dirty.map((row) => row.dirty))).toEqual(new Set(DIRTY_KINDS));
    expect(dirty.length / full.length).toBeGreaterThan(0.007);
    expect(dirty.length / full.length).toBeLessThan(0.013);
    for (const row of dirty.filter((r) => r.dirty !== 'duplicate_id'))
      expect(recordProblems('startup-company', row.data)).toEqual(expect.any(String));
  });

  it('includes hostile but valid names for the dashboard to escape', () => {
    const hostile = full.filter((row) => HOSTILE_COMPANY_NAMES.includes(row.data.name as string));
    expect(hostile.length).toBeGreaterThanOrEqual(2);
    for (const row of hostile.filter((r) => !r.dirty))
      expect(recordProblems('startup-company', row.data)).toBeUndefined();
  });

  it('makes a weekly delta of companies new or changed in the seven days up to the date, with their latest updated_at', () => {
    const delta = load('2026-03-13', 'delta', { dirtyShare: 0 });
    expect(delta.length).toBeGreaterThan(5);
    expect(delta.length).toBeLessThan(120);
    const windowStart = Date.parse('2026-03-07T00:00:00Z');
    for (const row of delta) {
      expect(row.data.load_type).toBe('delta');
      expect(Date.parse(row.data.updated_at as string)).toBeGreaterThanOrEqual(windowStart);
      expect(Date.parse(row.data.updated_at as string)).toBeLessThan(Date.parse('2026-03-14T00:00:00Z'));
    }
  });

  it('changes only companies that exist, consistently with the earlier full load', () => {
    const fullById = new Map(load('2026-03-06', 'full', { dirtyShare: 0 }).map((row) => [row.id, row.data]));
    const delta = load('2026-03-13', 'delta', { dirtyShare: 0 });
    const changed = delta.filter((row) => fullById.has(row.id));
    const added = delta.filter((row) => !fullById.has(row.id));
    expect(changed.length).toBeGreaterThan(0);
    for (const row of changed) {
      const before = fullById.get(row.id)!;
      expect(row.data.name).toBe(before.name);
      expect(row.data.founded_year).toBe(before.founded_year);
      expect(Date.parse(row.data.updated_at as string)).toBeGreaterThan(Date.parse(before.updated_at as string));
      expect(row.data.total_funding_usd as number).toBeGreaterThanOrEqual(before.total_funding_usd as number);
    }
    // A company new in the delta was listed within its week.
    for (const row of added)
      expect(Date.parse(row.data.updated_at as string)).toBeGreaterThanOrEqual(Date.parse('2026-03-07T00:00:00Z'));
  });

  it('agrees with itself over time: the full load at a later date holds the delta rows as they were', () => {
    const delta = new Map(load('2026-03-13', 'delta', { dirtyShare: 0 }).map((row) => [row.id, row.data]));
    const later = load('2026-03-13', 'full', { dirtyShare: 0 }).filter((row) => delta.has(row.id));
    expect(later).toHaveLength(delta.size);
    for (const row of later) expect({ ...row.data, load_type: 'delta' }).toEqual(delta.get(row.id));
  });

  it('tracks a company for ten years', () => {
    expect(STARTUP_UNIVERSE.trackedDays).toBe(3650);
    const listed = full.map((row) => Number(row.id.slice(4)) / 10_000 - 25567);
    expect(Math.min(...listed)).toBeGreaterThan(dayNumber('2026-03-06') - 3650);
  });
});

describe('startups schedule', () => {
  it.each([
    ['the first run is a full load', '2026-03-03', '2026-03-03', 'full'],
    ['a later Friday is a delta', '2026-03-06', '2026-03-03', 'delta'],
    ['a later weekday is skipped', '2026-03-05', '2026-03-03', undefined],
    ['a Friday before the full load is a delta', '2026-02-27', '2026-03-03', 'delta'],
    ['a Friday full-load date stays full', '2026-03-06', '2026-03-06', 'full'],
  ] as const)('%s', (_name, runDate, fullLoadDate, expected) => {
    expect(startupLoadOn(runDate, fullLoadDate)).toBe(expected);
    expect(startupsExpectedOn(runDate, fullLoadDate)).toBe(expected !== undefined);
  });

  it.each([
    ['the lake has a full load', '2026-03-10', '2026-03-03', undefined, '2026-03-03'],
    ['no full load: the run date', '2026-03-10', undefined, undefined, '2026-03-10'],
    ['no full load, in a backfill: its first date', '2026-03-10', undefined, '2026-03-01', '2026-03-01'],
    ['a full load wins over a backfill window', '2026-03-10', '2026-03-05', '2026-03-01', '2026-03-05'],
  ] as const)('puts the full load at the right date when %s', (_name, runDate, inLake, backfillFrom, expected) => {
    expect(startupFullLoadDate(runDate, inLake, backfillFrom)).toBe(expected);
  });
});
