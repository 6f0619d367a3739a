import { describe, expect, it } from 'vitest';
import {
  POPULATION,
  customerAt,
  customerById,
  customersActiveOn,
  dayNumber,
  expectedOrders,
  noOrderProbability,
  orderEngagement,
  sessionEngagement,
  signupsOn,
  type Customer,
} from '@mlops/synthetic';

const world = { seed: 42, scale: 1 };
const day = dayNumber('2026-03-03');

function active(options = world, on = day): Customer[] {
  return [...customersActiveOn(options, on)];
}

describe('customer population', () => {
  it('is a function of (seed, scale, date): the same customers every time', () => {
    expect(active()).toEqual(active());
  });

  it('holds a few thousand active customers at scale 1 and scales linearly', () => {
    const one = active().length;
    expect(one).toBeGreaterThan(4000);
    expect(one).toBeLessThan(10_000);
    const two = active({ seed: 42, scale: 2 }).length;
    expect(two / one).toBeGreaterThan(1.9);
    expect(two / one).toBeLessThan(2.1);
  });

  it('changes with the seed', () => {
    expect(active({ seed: 7, scale: 1 }).map((c) => c.id)).not.toEqual(active().map((c) => c.id));
  });

  it('keeps a customer identical on every date they are active', () => {
    const today = new Map(active().map((customer) => [customer.id, customer]));
    const later = active(world, day + 20);
    const both = later.filter((customer) => today.has(customer.id));
    expect(both.length).toBeGreaterThan(3000);
    for (const customer of both) expect(customer).toEqual(today.get(customer.id));
  });

  it('lists only customers signed up by the date and not yet churned, with unique ids', () => {
    const customers = active();
    expect(new Set(customers.map((c) => c.id)).size).toBe(customers.length);
    expect(
      customers.every(
        (c) => c.signupDay <= day && c.churnDay > day && c.churnDay - c.signupDay <= POPULATION.maxLifetimeDays,
      ),
    ).toBe(true);
    expect(customers.every((c) => /^cus_[0-9]{6,}$/.test(c.id))).toBe(true);
  });

  it('lets customers churn and new ones sign up every day', () => {
    const before = new Set(active(world, day - 30).map((c) => c.id));
    const now = active();
    const joined = now.filter((c) => !before.has(c.id));
    const left = [...before].filter((id) => !now.some((c) => c.id === id));
    expect(joined.length).toBeGreaterThan(500);
    expect(left.length).toBeGreaterThan(300);
    expect(signupsOn(world, day)).toBeGreaterThan(15);
  });

  it('rebuilds a customer from its sign-up day and index', () => {
    const customer = active()[100]!;
    const index = customer.number % 100_000;
    expect(customerAt(world, customer.signupDay, index)).toEqual(customer);
  });

  it('links churn propensity to how soon customers leave', () => {
    const customers = active();
    const risky = customers.filter((c) => c.churnPropensity > 0.7);
    const loyal = customers.filter((c) => c.churnPropensity < 0.2);
    const meanLife = (list: Customer[]) => list.reduce((sum, c) => sum + (c.churnDay - c.signupDay), 0) / list.length;
    expect(meanLife(risky)).toBeLessThan(meanLife(loyal) / 2);
  });

  it('thins out engagement in the weeks before the churn day and stops at it', () => {
    const customer = active().find((c) => c.churnDay - day > 70)!;
    expect(orderEngagement(customer, customer.churnDay - 60)).toBe(1);
    expect(orderEngagement(customer, customer.churnDay - 10)).toBeLessThan(0.4);
    expect(orderEngagement(customer, customer.churnDay)).toBe(0);
    expect(sessionEngagement(customer, customer.churnDay - 50)).toBeLessThan(1);
    expect(sessionEngagement(customer, customer.churnDay - 5)).toBeLessThan(
      orderEngagement(customer, customer.churnDay - 5),
    );
    expect(sessionEngagement(customer, customer.churnDay + 1)).toBe(0);
  });

  it('finds a customer by id, and no customer for an id it never made', () => {
    const customer = active()[123]!;
    expect(customerById(world, customer.id)).toEqual(customer);
    expect(customerById(world, 'cus_x')).toBeUndefined();
    expect(customerById(world, `cus_${customer.number - (customer.number % 100_000) + 99_999}`)).toBeUndefined();
  });

  it('gives the hidden probability of no order in a horizon: certain once churned, exp(-expected orders) before', () => {
    const customer = active().find((c) => c.churnDay - day > 70)!;
    expect(noOrderProbability(customer, customer.churnDay, 30)).toBe(1);
    let expected = 0;
    for (let next = day + 1; next <= day + 30; next += 1) expected += expectedOrders(customer, next);
    expect(noOrderProbability(customer, day, 30)).toBeCloseTo(Math.exp(-expected), 12);
    expect(noOrderProbability(customer, day, 30)).toBeLessThan(
      noOrderProbability(customer, customer.churnDay - 20, 30),
    );
  });
});
