import { describe, expect, it } from 'vitest';
import { dayNumber, demandFactor, holidayFactor, isFriday, isoDate, trendFactor, weekday } from '@mlops/synthetic';

describe('calendar of the synthetic world', () => {
  it.each([
    ['1970-01-01', 0, 4],
    ['2026-01-01', 20454, 4],
    ['2026-03-06', 20518, 5],
    ['1969-12-31', -1, 3],
  ])('numbers %s as day %i, weekday %i', (date, day, wd) => {
    expect(dayNumber(date)).toBe(day);
    expect(isoDate(day)).toBe(date);
    expect(weekday(day)).toBe(wd);
  });

  it.each(['2026-02-30', '2026-13-01', 'yesterday', '2026-1-5'])('refuses %s as a date', (date) => {
    expect(() => dayNumber(date)).toThrow(RangeError);
  });

  it.each([
    ['2026-03-06', true],
    ['2026-03-07', false],
    ['2026-01-02', true],
    ['2026-01-01', false],
  ])('knows whether %s is a Friday (%s)', (date, friday) => {
    expect(isFriday(date)).toBe(friday);
  });

  it('peaks on Black Friday and Cyber Monday', () => {
    const blackFriday = dayNumber('2026-11-27');
    expect(holidayFactor(blackFriday)).toBeGreaterThan(2);
    expect(holidayFactor(blackFriday + 3)).toBeGreaterThan(1.8);
    expect(holidayFactor(dayNumber('2026-03-10'))).toBe(1);
    expect(demandFactor(blackFriday)).toBeGreaterThan(2 * demandFactor(dayNumber('2026-03-10')));
  });

  it('trends upwards, bounded', () => {
    expect(trendFactor(dayNumber('2027-01-01'))).toBeGreaterThan(trendFactor(dayNumber('2026-01-01')));
    expect(trendFactor(dayNumber('2100-01-01'))).toBe(2);
    expect(trendFactor(dayNumber('1900-01-01'))).toBe(0.5);
  });

  it('has a weekly rhythm: Sundays busier than Wednesdays', () => {
    expect(demandFactor(dayNumber('2026-03-08'))).toBeGreaterThan(demandFactor(dayNumber('2026-03-11')));
  });
});
