import { describe, expect, it } from 'vitest';
import {
  createEvent,
  decodeMessage,
  encodeMessage,
  followUp,
  parseTraceparent,
  validateEvent,
  type AnyEvent,
} from '@mlops/shared';
import { startEvent } from './helpers.js';

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
    const { traceparent: _t, ...withoutTrace } = event;
    expect(() => validateEvent(withoutTrace)).toThrow(/extension traceparent is missing/);
  });
});
