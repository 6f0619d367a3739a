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
    [['start', '--no-serve', '--days', '14'], { name: 'start', days: 14, serve: false }],
    [['status', '--json'], { name: 'status', json: true, limit: 20 }],
    [
      ['dlq', 'list', '--subscription', 'lander.sales-generated'],
      { name: 'dlq', action: 'list', subscription: 'lander.sales-generated' },
    ],
    [['dlq', 'redrive', '--id', '3', '4'], { name: 'dlq', action: 'redrive', ids: ['3', '4'] }],
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
    [['frobnicate'], /unknown command 'frobnicate'/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseCli(argv)).toThrow(message);
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
