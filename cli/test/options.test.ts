import { describe, expect, it } from 'vitest';
import { parseCli, parseSince } from '../src/options.js';

describe('parseCli', () => {
  it.each([
    [
      ['run', '--date', '2026-03-01'],
      { name: 'run', date: '2026-03-01', retrain: false, attach: false, timeoutS: 600 },
    ],
    [
      ['run', '--date', '2026-03-01', '--scale', '2.5', '--seed', '7', '--retrain'],
      { name: 'run', scale: 2.5, seed: 7, retrain: true },
    ],
    [
      ['backfill', '--from', '2026-03-01', '--to', '2026-03-14'],
      { name: 'backfill', from: '2026-03-01', to: '2026-03-14' },
    ],
    [['start'], { name: 'start', days: 120, serve: true, fresh: false }],
    [['start', '--no-serve', '--days', '14'], { name: 'start', days: 14, serve: false, timeoutS: undefined }],
    [['start', '--timeout', '5400'], { name: 'start', timeoutS: 5400 }],
    [['status', '--json'], { name: 'status', json: true, limit: 20 }],
    [
      ['dlq', 'list', '--subscription', 'lander.sales-generated'],
      { name: 'dlq', action: 'list', subscription: 'lander.sales-generated' },
    ],
    [['dlq', 'redrive', '--id', '3', '4'], { name: 'dlq', action: 'redrive', ids: ['3', '4'] }],
    [['dlq', 'relay'], { name: 'dlq', action: 'relay' }],
    [['serve', '--port', '9000'], { name: 'serve', port: 9000 }],
    [['schedule', '--once', '--date', '2026-03-01'], { name: 'schedule', once: true, date: '2026-03-01', at: '02:00' }],
    [['stack', 'up', '--no-emulators'], { name: 'stack', action: 'up', emulators: false }],
    [
      ['replay', '--topic', 'bronze-landed', 'warehouse-ready', '--since', '1h'],
      { name: 'replay', topics: ['bronze-landed', 'warehouse-ready'], attach: false },
    ],
    [
      ['replay', '--topic', 'all', '--since', '2026-03-01', '--attach'],
      {
        name: 'replay',
        topics: [
          'pipeline-start',
          'sales-generated',
          'bronze-landed',
          'warehouse-ready',
          'model-trained',
          'predictions-ready',
          'stage-failed',
          'stage-skipped',
        ],
        attach: true,
      },
    ],
  ])('parses %j', (argv, expected) => {
    expect(parseCli(argv)).toMatchObject(expected);
  });

  it.each([
    [['run'], /required option '--date/],
    [['run', '--date', '2026-02-30'], /--date "2026-02-30" is not a date/],
    [['run', '--date', 'tomorrow'], /is not a date/],
    [['run', '--date', '2026-03-01', '--scale', '-1'], /--scale "-1" must be a number above 0/],
    [['backfill', '--from', '2026-03-10', '--to', '2026-03-01'], /--from 2026-03-10 is after --to 2026-03-01/],
    [['replay', '--topic', 'nope', '--since', '1h'], /--topic "nope" is not a topic/],
    [['replay', '--topic', 'pipeline-start', 'nope', '--since', '1h'], /--topic "nope" is not a topic/],
    [['replay', '--topic', 'pipeline-start', '--since', 'last week'], /--since "last week" is not a time/],
    [['schedule', '--at', '25:00'], /--at "25:00" is not a time/],
    [['start', '--timeout', '0'], /--timeout "0" must be/],
    [['start', '--timeout', 'soon'], /--timeout "soon" must be/],
    [['frobnicate'], /unknown command 'frobnicate'/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseCli(argv)).toThrow(message);
  });

  describe('run-date bounds', () => {
    // 2026-03-10 in the afternoon, UTC: tomorrow is 2026-03-11.
    const now = new Date('2026-03-10T23:30:00Z');

    it.each([
      [['run', '--date', '2026-03-11']],
      [['run', '--date', '2020-01-01']],
      [['backfill', '--from', '2020-01-01', '--to', '2026-03-11']],
      [['schedule', '--once', '--date', '2026-03-11']],
      [['start', '--until', '2026-03-11', '--days', '14']],
      [['start', '--until', '2020-01-10', '--days', '10']],
      [['start', '--days', '365']],
    ])('accepts %j (tomorrow, the earliest date)', (argv) => {
      expect(() => parseCli(argv, {}, now)).not.toThrow();
    });

    it.each([
      [
        ['run', '--date', '2026-03-12'],
        /--date: run date 2026-03-12 is after tomorrow \(2026-03-11, UTC\); set MLOPS_ALLOW_FUTURE_DATES=true/,
      ],
      [['run', '--date', '9999-12-31'], /--date: run date 9999-12-31 is after tomorrow/],
      [
        ['run', '--date', '2019-12-31'],
        /--date: run date 2019-12-31 is before the earliest run date 2020-01-01 \(MLOPS_EARLIEST_RUN_DATE\)/,
      ],
      [['backfill', '--from', '2026-03-01', '--to', '2026-03-12'], /--to: run date 2026-03-12 is after tomorrow/],
      [['backfill', '--from', '2019-12-31', '--to', '2026-03-01'], /--from: run date 2019-12-31 is before/],
      [['schedule', '--once', '--date', '9999-12-31'], /--date: run date 9999-12-31 is after tomorrow/],
      [['start', '--until', '9999-12-31'], /--until: run date 9999-12-31 is after tomorrow/],
      [['start', '--until', '2020-01-10', '--days', '11'], /--days 11: run date 2019-12-31 is before/],
    ])('refuses %j', (argv, message) => {
      expect(() => parseCli(argv, {}, now)).toThrow(message);
    });

    it('allows future dates when MLOPS_ALLOW_FUTURE_DATES is true, and a configured earliest date', () => {
      expect(parseCli(['run', '--date', '9999-12-31'], { MLOPS_ALLOW_FUTURE_DATES: 'true' }, now)).toMatchObject({
        date: '9999-12-31',
      });
      const env = { MLOPS_EARLIEST_RUN_DATE: '2026-03-01' };
      expect(parseCli(['run', '--date', '2026-03-01'], env, now)).toMatchObject({ date: '2026-03-01' });
      expect(() => parseCli(['run', '--date', '2026-02-28'], env, now)).toThrow(
        /before the earliest run date 2026-03-01/,
      );
      expect(() => parseCli(['run', '--date', '2026-03-01'], { MLOPS_EARLIEST_RUN_DATE: 'soon' }, now)).toThrow(
        /MLOPS_EARLIEST_RUN_DATE/,
      );
      expect(() => parseCli(['run', '--date', '2026-03-01'], { MLOPS_ALLOW_FUTURE_DATES: 'maybe' }, now)).toThrow(
        /MLOPS_ALLOW_FUTURE_DATES/,
      );
    });
  });

  it('prints help', () => {
    const help = parseCli(['--help']);
    expect(help.name).toBe('help');
    expect(help.name === 'help' && help.text).toContain('backfill');
  });

  it('reads --since as a duration, a date or a time', () => {
    const now = new Date('2026-03-10T12:00:00Z');
    expect(parseSince('2h', now).toISOString()).toBe('2026-03-10T10:00:00.000Z');
    expect(parseSince('3d', now).toISOString()).toBe('2026-03-07T12:00:00.000Z');
    expect(parseSince('2026-03-01', now).toISOString()).toBe('2026-03-01T00:00:00.000Z');
    expect(parseSince('2026-03-01T05:00:00+01:00', now).toISOString()).toBe('2026-03-01T04:00:00.000Z');
  });
});
