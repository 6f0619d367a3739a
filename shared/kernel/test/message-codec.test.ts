import { describe, expect, it } from 'vitest';
import {
  createEvent,
  decodeMessage,
  encodeMessage,
  followUp,
  isTraceparent,
  parseTraceparent,
  validateEvent,
  type AnyEvent,
} from '@mlops/kernel';
import { startEvent } from '@mlops/testing/suites';

describe('CloudEvents envelope and the Pub/Sub binding', () => {
  it('round-trips an event through binary content mode with ce- attributes', () => {
    const event = startEvent('2026-04-01');
    const message = encodeMessage(event);
    expect(message.attributes).toMatchObject({
      'ce-type': 'mlops.pipeline.started.v1',
      'ce-runid': event.runid,
      'ce-rundate': '2026-04-01',
      'ce-specversion': '1.0',
      'content-type': 'application/json',
    });
    expect(JSON.parse(Buffer.from(message.data).toString())).toEqual(event.data);
    expect(decodeMessage(message)).toEqual(event);
  });

  it('accepts structured content mode', () => {
    const event = startEvent('2026-04-02');
    const decoded = decodeMessage({
      data: Buffer.from(JSON.stringify(event)),
      attributes: { 'content-type': 'application/cloudevents+json; charset=utf-8' },
    });
    expect(decoded).toEqual(event);
  });

  it.each([
    [
      'invalid JSON',
      { data: Buffer.from('{'), attributes: encodeMessage(startEvent('2026-04-03')).attributes },
      'EVENT.INVALID_JSON',
    ],
    [
      'an unknown type',
      {
        ...encodeMessage(startEvent('2026-04-03')),
        attributes: { ...encodeMessage(startEvent('2026-04-03')).attributes, 'ce-type': 'mlops.x.happened.v1' },
      },
      'EVENT.UNKNOWN_TYPE',
    ],
    [
      'a rundate that is not a date',
      {
        ...encodeMessage(startEvent('2026-04-03')),
        attributes: { ...encodeMessage(startEvent('2026-04-03')).attributes, 'ce-rundate': '2026-13-01' },
      },
      'EVENT.ENVELOPE_INVALID',
    ],
    [
      'a malformed traceparent',
      {
        ...encodeMessage(startEvent('2026-04-03')),
        attributes: { ...encodeMessage(startEvent('2026-04-03')).attributes, 'ce-traceparent': 'abc' },
      },
      'EVENT.ENVELOPE_INVALID',
    ],
    ['no attributes at all', { data: Buffer.from('{}'), attributes: {} }, 'EVENT.ENVELOPE_INVALID'],
  ])('rejects %s with a permanent error', (_why, message, code) => {
    expect(() => decodeMessage(message)).toThrow(expect.objectContaining({ code, errorClass: 'permanent' }));
  });

  it('rejects a message over the size limit before parsing it', () => {
    const message = encodeMessage(startEvent('2026-04-04'));
    expect(() =>
      decodeMessage({ ...message, attributes: { ...message.attributes, pad: 'x'.repeat(2000) } }, 1024),
    ).toThrow(expect.objectContaining({ code: 'EVENT.TOO_LARGE' }));
  });

  it('gives a follow-up event the same run, run date and trace, and a deterministic id', () => {
    const cause = startEvent('2026-04-05');
    const a = followUp(
      cause,
      'mlops.sales.generated.v1',
      { runDate: '2026-04-05', collection: 'sales', documentCount: 1, dirtyCount: 0 },
      { source: '//mlops/sales-gen', subject: 'sales/2026-04-05' },
    );
    const b = followUp(
      cause,
      'mlops.sales.generated.v1',
      { runDate: '2026-04-05', collection: 'sales', documentCount: 1, dirtyCount: 0 },
      { source: '//mlops/sales-gen', subject: 'sales/2026-04-05' },
    );
    expect(a.id).toBe(b.id);
    expect(a.id).not.toBe(cause.id);
    expect(a.runid).toBe(cause.runid);
    expect(parseTraceparent(a.traceparent)!.traceId).toBe(parseTraceparent(cause.traceparent)!.traceId);
    expect(parseTraceparent(a.traceparent)!.spanId).not.toBe(parseTraceparent(cause.traceparent)!.spanId);
    expect(validateEvent(a)).toEqual(a);
  });

  it('carries the cause and the handling start of a follow-up event through both content modes', () => {
    const cause = startEvent('2026-04-07');
    const handlingStart = new Date('2026-04-08T02:00:01.250Z');
    const event = followUp(
      cause,
      'mlops.stage.skipped.v1',
      { stage: 'startup-gen', code: 'STARTUP_GEN.NOT_DUE', reason: 'not a Friday', runDates: ['2026-04-07'] },
      { source: '//mlops/startup-gen', handlingStart },
    ) as AnyEvent;
    expect(event).toMatchObject({ causationid: cause.id, handlingstart: '2026-04-08T02:00:01.250Z' });
    const message = encodeMessage(event);
    expect(message.attributes).toMatchObject({
      'ce-causationid': cause.id,
      'ce-handlingstart': '2026-04-08T02:00:01.250Z',
    });
    expect(decodeMessage(message)).toEqual(event);
    const structured = {
      data: Buffer.from(JSON.stringify(event)),
      attributes: { 'content-type': 'application/cloudevents+json' },
    };
    expect(decodeMessage(structured)).toEqual(event);
    // Optional: a start event has neither, and stays valid.
    expect(decodeMessage(encodeMessage(cause))).not.toHaveProperty('causationid');
  });

  it.each([
    ['an empty causationid', { causationid: '' }, /extension causationid must be a non-empty string/],
    ['a handlingstart that is not a time', { handlingstart: 'yesterday' }, /handlingstart must be an RFC 3339/],
    ['a numeric handlingstart', { handlingstart: 1700000000000 }, /handlingstart must be a non-empty string/],
  ])('rejects %s', (_why, extension, message) => {
    expect(() => validateEvent({ ...startEvent('2026-04-09'), ...extension })).toThrow(
      expect.objectContaining({ code: 'EVENT.ENVELOPE_INVALID', message: expect.stringMatching(message) }),
    );
  });

  it('names the missing extension', () => {
    const event = createEvent(
      'mlops.pipeline.started.v1',
      { runDate: '2026-04-06', trigger: 'cli' },
      { source: 's', runid: 'r', rundate: '2026-04-06' },
    ) as AnyEvent;
    const { runid: _r, ...withoutRun } = event;
    expect(() => validateEvent(withoutRun)).toThrow(/extension runid is missing/);
  });
});

describe('events from publishers outside the project', () => {
  const start = () => startEvent('2026-04-07');

  it('starts a new trace for an event without traceparent, the same one on every delivery', () => {
    const { traceparent: _t, ...withoutTrace } = start();
    const first = validateEvent(withoutTrace);
    const again = validateEvent(withoutTrace);
    expect(parseTraceparent(first.traceparent)).toBeDefined();
    expect(first.traceparent).toBe(again.traceparent);
    expect(first.traceparent).not.toBe(validateEvent({ ...withoutTrace, id: 'another-id' }).traceparent);
  });

  it('accepts a binary-mode message written by hand: no traceparent, attribute names in any case', () => {
    const event = start();
    const decoded = decodeMessage({
      data: Buffer.from(JSON.stringify(event.data)),
      attributes: {
        'CE-SpecVersion': '1.0',
        'ce-id': event.id,
        'ce-source': '//scheduler/elsewhere',
        'Ce-Type': event.type,
        'ce-time': event.time,
        'ce-runid': event.runid,
        'ce-rundate': event.rundate,
        'Content-Type': 'Application/JSON; charset=UTF-8',
      },
    });
    expect(decoded).toMatchObject({ id: event.id, type: event.type, runid: event.runid, data: event.data });
    expect(parseTraceparent(decoded.traceparent)).toBeDefined();
  });

  it.each([
    ['Content-Type', 'application/cloudevents+json'],
    ['content-type', 'Application/CloudEvents+JSON; charset=utf-8'],
    ['CONTENT-TYPE', 'application/cloudevents+json'],
  ])('accepts a structured-mode message with %s: %s', (name, value) => {
    const { traceparent: _t, ...event } = start();
    const decoded = decodeMessage({
      data: Buffer.from(JSON.stringify({ ...event, datacontenttype: 'application/json; charset=utf-8' })),
      attributes: { [name]: value },
    });
    expect(decoded).toMatchObject({ id: event.id, type: event.type, datacontenttype: 'application/json' });
    expect(decoded.data).toEqual(event.data);
  });

  it("takes the transport's publish time for an event without time, and still refuses a bad one", () => {
    const event = start();
    const { time: _time, ...withoutTime } = event;
    const message = {
      data: Buffer.from(JSON.stringify(withoutTime)),
      attributes: { 'content-type': 'application/cloudevents+json' },
    };
    const publishedAt = new Date('2026-04-07T06:00:00.000Z');
    expect(decodeMessage(message, undefined, { publishedAt }).time).toBe(publishedAt.toISOString());
    expect(() => decodeMessage(message)).toThrow(/time must be an RFC 3339 timestamp/);
    const badTime = { ...message, data: Buffer.from(JSON.stringify({ ...event, time: 'noon' })) };
    expect(() => decodeMessage(badTime, undefined, { publishedAt })).toThrow(/time must be an RFC 3339/);
  });

  it('still refuses a malformed traceparent and a datacontenttype that is not JSON', () => {
    const event = start();
    expect(() => validateEvent({ ...event, traceparent: '00-xyz' })).toThrow(/traceparent is not W3C trace context/);
    expect(() => validateEvent({ ...event, datacontenttype: 'text/plain' })).toThrow(/datacontenttype/);
  });

  it('judges a traceparent on validation exactly as isTraceparent does', () => {
    const event = start();
    const good = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const bad = [
      good.toUpperCase(),
      good.slice(1),
      `${good}0`,
      good.replace(/^00/, '01'),
      good.replace('-b7', '_b7'),
      good.replace('0af7', '0ag7'),
      good.replace(/-01$/, '-1:'),
      good.replace('c-b', 'cb-'),
      `${good.slice(0, 54)}/`,
      ' '.repeat(55),
    ];
    expect(isTraceparent(good)).toBe(true);
    expect(validateEvent({ ...event, traceparent: good }).traceparent).toBe(good);
    for (const value of bad) {
      expect(isTraceparent(value)).toBe(false);
      expect(() => validateEvent({ ...event, traceparent: value }), value).toThrow(
        /traceparent is not W3C trace context/,
      );
    }
  });

  it('returns a copy unless asked to complete its own object in place', () => {
    const { traceparent: _t, ...event } = start();
    const copy = validateEvent(event);
    expect(copy).not.toBe(event);
    expect(event).not.toHaveProperty('traceparent');
    const owned = { ...event };
    const completed = validateEvent(owned, { inPlace: true });
    expect(completed).toBe(owned);
    expect(completed).toEqual(copy);
    expect(Object.keys(completed)).toEqual(Object.keys(copy));
  });

  it('returns a read-only caller its own event only when it is already complete, and never changes it', () => {
    const complete = start();
    expect(validateEvent(complete, { readOnly: true })).toBe(complete);
    const { traceparent: _t, ...partial } = complete;
    const before = { ...partial };
    const completed = validateEvent(partial, { readOnly: true });
    expect(completed).not.toBe(partial);
    expect(completed.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(partial).toEqual(before);
    const charset = { ...complete, datacontenttype: 'application/json; charset=utf-8' };
    const normalised = validateEvent(charset, { readOnly: true });
    expect(normalised).not.toBe(charset);
    expect(normalised.datacontenttype).toBe('application/json');
    expect(() => validateEvent({ ...complete, rundate: '2026-02-30' }, { readOnly: true })).toThrow(/rundate/);
  });

  it('decodes the usual attributes to the same event, keys in the same order, as any other spelling', () => {
    const event = start();
    const message = encodeMessage(event);
    expect(Object.keys(message.attributes)).toEqual([
      'content-type',
      'ce-specversion',
      'ce-id',
      'ce-source',
      'ce-type',
      'ce-time',
      'ce-dataschema',
      'ce-runid',
      'ce-rundate',
      'ce-traceparent',
    ]);
    const usual = decodeMessage(message);
    // An attribute the codec ignores takes the general path.
    const general = decodeMessage({ ...message, attributes: { ...message.attributes, 'x-other': '1' } });
    expect(usual).toStrictEqual(general);
    expect(Object.keys(usual)).toEqual(Object.keys(general));
    expect(JSON.stringify(usual)).toBe(JSON.stringify(general));
    expect(() =>
      decodeMessage({ ...message, attributes: { ...message.attributes, 'ce-rundate': '2026-02-30' } }),
    ).toThrow(/rundate/);
    const withSubject = { ...event, subject: 'orders' } as AnyEvent;
    expect(decodeMessage(encodeMessage(withSubject))).toEqual(withSubject);
  });

  it('checks a payload date in full every time, whatever dates it has accepted before', () => {
    const good = { ...start(), data: { runDate: '2024-02-29', trigger: 'backfill' } };
    for (let i = 0; i < 3; i += 1) expect(validateEvent(good).data).toEqual(good.data);
    for (const runDate of ['2023-02-29', '2024-02-30', '2024-13-01', '2024-2-01'])
      expect(() => validateEvent({ ...good, data: { ...good.data, runDate } }), runDate).toThrow(/runDate/);
  });

  it('checks the time in full every time, whatever times it has accepted before', () => {
    const good = start();
    const time = '2024-02-29T10:00:00.123Z';
    for (let i = 0; i < 3; i += 1) expect(validateEvent({ ...good, time }).time).toBe(time);
    for (const bad of [
      '2024-02-29T25:00:00.123Z',
      '2024-13-29T10:00:00.123Z',
      '2024-02-29 10:00:00Z',
      time.slice(0, -1),
      '',
    ])
      expect(() => validateEvent({ ...good, time: bad }), bad).toThrow(/time must be an RFC 3339 timestamp/);
    expect(() => validateEvent({ ...good, time: 1_709_200_800_000 })).toThrow(/time must be an RFC 3339 timestamp/);
  });
});
