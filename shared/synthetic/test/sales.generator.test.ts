import { describe, expect, it } from 'vitest';
import {
  DIRTY_KINDS,
  churnsWithin,
  createPseudonymiser,
  customerContact,
  customersActiveOn,
  dayNumber,
  generateSalesOrders,
  isoDate,
  type GeneratedRecord,
} from '@mlops/synthetic';
import { recordProblems } from '@mlops/kernel';

const options = { seed: 42, scale: 1, date: '2026-03-03', dirtyShare: 0.01, piiHmacKey: 'test-key-0123456789' };
const generate = (overrides: Partial<typeof options> = {}): GeneratedRecord[] => [
  ...generateSalesOrders({ ...options, ...overrides }),
];

describe('sales orders of a day', () => {
  const records = generate();

  it('has about 1,000 orders at scale 1', () => {
    expect(records.length).toBeGreaterThan(700);
    expect(records.length).toBeLessThan(1300);
  });

  it('is the same for the same seed, scale and date, and differs for another seed or date', () => {
    expect(generate()).toEqual(records);
    expect(generate({ seed: 43 }).map((r) => r.id)).not.toEqual(records.map((r) => r.id));
    expect(generate({ date: '2026-03-04' }).map((r) => r.id)).not.toEqual(records.map((r) => r.id));
  });

  it('writes clean orders that validate against schemas/records/sales-order', () => {
    const clean = records.filter((record) => !record.dirty);
    const problems = clean.map((record) => recordProblems('sales-order', record.data)).filter(Boolean);
    expect(problems).toEqual([]);
    expect(clean.every((record) => (record.data.order_ts as string).startsWith('2026-03-03T'))).toBe(true);
    expect(clean.every((record) => record.data.net_amount_usd! <= record.data.gross_amount_usd!)).toBe(true);
  });

  it('marks about the configured share dirty, every kind represented, and only dirty records fail the schema (or repeat an id)', () => {
    const dirty = records.filter((record) => record.dirty);
    expect(dirty.length / records.length).toBeGreaterThan(0.007);
    expect(dirty.length / records.length).toBeLessThan(0.013);
    expect(new Set(dirty.map((record) => record.dirty))).toEqual(new Set(DIRTY_KINDS));
    for (const record of dirty) {
      if (record.dirty === 'duplicate_id') {
        expect(record.id).toBe(`${record.data.order_id as string}_dup`);
        expect(records.find((other) => other.id === record.data.order_id)!.data).toEqual(record.data);
      } else expect(recordProblems('sales-order', record.data), record.dirty).toEqual(expect.any(String));
    }
    expect(run_dates(records)).toEqual(['2026-03-03']);
  });

  it.each([0, 0.05, 0.2])('follows a dirty share of %f (of the orders; a duplicate is one extra document)', (share) => {
    const day = generate({ dirtyShare: share });
    const dirty = day.filter((record) => record.dirty).length;
    const orders = day.filter((record) => record.dirty !== 'duplicate_id').length;
    expect(Math.abs(dirty - share * orders)).toBeLessThanOrEqual(1);
  });

  it('never writes raw e-mail addresses or phone numbers, only their HMAC', () => {
    const text = JSON.stringify(records.map((record) => record.data));
    expect(text).not.toMatch(/@|\+1\d{10}/);
    const pseudonymiser = createPseudonymiser(options.piiHmacKey);
    const order = records.find((record) => !record.dirty)!;
    const customer = [...customersActiveOn(options, dayNumber(options.date))].find(
      (c) => c.id === order.data.customer_id,
    )!;
    const contact = customerContact(options, customer);
    expect(text).not.toContain(contact.email);
    expect(order.data.customer_email_hash).toBe(pseudonymiser.hash(contact.email));
    expect(order.data.customer_phone_hash).toBe(pseudonymiser.hash(contact.phone));
    expect(generate({ piiHmacKey: 'another-key-0123456789' })[0]!.data.customer_email_hash).not.toBe(
      records[0]!.data.customer_email_hash,
    );
  });

  it('hashes the contact of a customer per key and seed, however many keys and dates a process has seen', () => {
    const keys = ['key-one-0123456789', 'key-two-0123456789', 'key-three-012345678', 'key-four-0123456789', 'key-5'];
    // Every key twice, on two dates, interleaved: a memo of the hashes must never answer for another key.
    for (const date of ['2026-03-03', '2026-03-04'])
      for (const key of [...keys, ...keys]) {
        const pseudonymiser = createPseudonymiser(key);
        for (const record of generate({ piiHmacKey: key, date })
          .filter((r) => !r.dirty)
          .slice(0, 20)) {
          const contact = customerContact(options, { number: Number(String(record.data.customer_id).slice(4)) });
          expect(record.data.customer_email_hash).toBe(pseudonymiser.hash(contact.email));
          expect(record.data.customer_phone_hash).toBe(pseudonymiser.hash(contact.phone));
        }
      }
    const otherSeed = generate({ seed: 43 }).find((r) => !r.dirty)!;
    const contact = customerContact({ seed: 43 }, { number: Number(String(otherSeed.data.customer_id).slice(4)) });
    expect(otherSeed.data.customer_email_hash).toBe(createPseudonymiser(options.piiHmacKey).hash(contact.email));
  });

  it('has orders only from customers active that day, with their attributes', () => {
    const active = new Map(
      [...customersActiveOn(options, dayNumber(options.date))].map((customer) => [customer.id, customer]),
    );
    for (const record of records.filter((r) => r.data.customer_id !== null)) {
      const customer = active.get(record.data.customer_id as string);
      expect(customer).toBeDefined();
      expect(record.data.customer_region).toBe(customer!.region);
      expect(record.data.customer_signup_date).toBe(customer!.signupDate);
    }
  });

  it('makes churn learnable: customers about to churn ordered less in the past weeks', () => {
    const world = { ...options, scale: 0.4, dirtyShare: 0 };
    const snapshot = dayNumber('2026-03-03');
    const counts = new Map<string, number>();
    for (let day = snapshot - 27; day <= snapshot; day += 1) {
      for (const record of generateSalesOrders({ ...world, date: isoDate(day) }))
        counts.set(record.data.customer_id as string, (counts.get(record.data.customer_id as string) ?? 0) + 1);
    }
    const churners: number[] = [];
    const stayers: number[] = [];
    for (const customer of customersActiveOn(world, snapshot)) {
      if (customer.signupDay > snapshot - 60) continue;
      (churnsWithin(customer, snapshot, 30) ? churners : stayers).push(counts.get(customer.id) ?? 0);
    }
    const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
    expect(churners.length).toBeGreaterThan(100);
    // Orders thin out over the six weeks before churn: over these four weeks churners order about
    // 0.6-0.66 times as often as stayers (measured over seeds and scales); 0.75 leaves room for sampling.
    expect(mean(churners)).toBeLessThan(0.75 * mean(stayers));
  });
});

function run_dates(records: GeneratedRecord[]): string[] {
  return [...new Set(records.map((record) => record.data.run_date as string))];
}
