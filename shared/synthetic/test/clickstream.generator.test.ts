import { describe, expect, it } from 'vitest';
import {
  DIRTY_KINDS,
  customerCookie,
  customersActiveOn,
  dayNumber,
  generateClickEvents,
  isoDate,
  type GeneratedRecord,
} from '@mlops/synthetic';
import { recordProblems } from '@mlops/kernel';

const options = { seed: 42, scale: 1, date: '2026-03-03', dirtyShare: 0.01 };
const generate = (overrides: Partial<typeof options> = {}): GeneratedRecord[] => [
  ...generateClickEvents({ ...options, ...overrides }),
];

describe('clickstream of a day', () => {
  const events = generate();

  it('has about 1,000 events at scale 1, in sessions', () => {
    expect(events.length).toBeGreaterThan(700);
    expect(events.length).toBeLessThan(1400);
    const sessions = new Set(events.map((event) => event.data.session_id));
    expect(sessions.size).toBeGreaterThan(120);
  });

  it('is the same for the same seed, scale and date', () => {
    expect(generate()).toEqual(events);
    expect(generate({ seed: 1 }).map((e) => e.id)).not.toEqual(events.map((e) => e.id));
  });

  it('writes clean events that validate against schemas/records/click-event, all on the run date', () => {
    const clean = events.filter((event) => !event.dirty);
    expect(clean.map((event) => recordProblems('click-event', event.data)).filter(Boolean)).toEqual([]);
    expect(clean.every((event) => (event.data.event_ts as string).startsWith('2026-03-03T'))).toBe(true);
  });

  it('marks about the configured share dirty with every kind, and dirty ones fail the schema or repeat an event', () => {
    const dirty = events.filter((event) => event.dirty);
    expect(dirty.length / events.length).toBeGreaterThan(0.007);
    expect(dirty.length / events.length).toBeLessThan(0.013);
    expect(new Set(dirty.map((event) => event.dirty))).toEqual(new Set(DIRTY_KINDS));
    for (const event of dirty) {
      if (event.dirty === 'duplicate_id')
        expect(events.filter((other) => other.data.event_id === event.data.event_id)).toHaveLength(2);
      else expect(recordProblems('click-event', event.data)).toEqual(expect.any(String));
    }
  });

  it('walks the funnel: fewer events at each step from product view to purchase', () => {
    const count = (type: string) => events.filter((event) => event.data.event_type === type).length;
    expect(count('product_view')).toBeGreaterThan(count('add_to_cart'));
    expect(count('add_to_cart')).toBeGreaterThan(count('checkout'));
    expect(count('checkout')).toBeGreaterThanOrEqual(count('purchase'));
    expect(count('purchase')).toBeGreaterThan(0);
    expect(count('search')).toBeGreaterThan(0);
  });

  it('ties sessions to active customers (with their cookie) and to anonymous visitors', () => {
    const active = new Map(
      [...customersActiveOn(options, dayNumber(options.date))].map((customer) => [customer.id, customer]),
    );
    const known = events.filter((event) => !event.dirty && event.data.customer_id !== null);
    const anonymous = events.filter((event) => !event.dirty && event.data.customer_id === null);
    expect(known.length).toBeGreaterThan(200);
    expect(anonymous.length).toBeGreaterThan(100);
    for (const event of known) {
      const customer = active.get(event.data.customer_id as string);
      expect(customer).toBeDefined();
      expect(event.data.anonymous_id).toBe(customerCookie(options.seed, customer!));
    }
  });

  it('shows engagement falling before churn: customers about to churn visit less', () => {
    const world = { ...options, scale: 1, dirtyShare: 0 };
    const snapshot = dayNumber('2026-03-03');
    const sessions = new Map<string, Set<string>>();
    for (let day = snapshot - 27; day <= snapshot; day += 1) {
      for (const event of generateClickEvents({ ...world, date: isoDate(day) })) {
        const customer = event.data.customer_id as string | null;
        if (customer)
          sessions.set(customer, (sessions.get(customer) ?? new Set()).add(event.data.session_id as string));
      }
    }
    const churners: number[] = [];
    const stayers: number[] = [];
    for (const customer of customersActiveOn(world, snapshot)) {
      if (customer.signupDay > snapshot - 60) continue;
      (customer.churnDay <= snapshot + 30 ? churners : stayers).push(sessions.get(customer.id)?.size ?? 0);
    }
    const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
    expect(mean(churners)).toBeLessThan(0.6 * mean(stayers));
  });
});
