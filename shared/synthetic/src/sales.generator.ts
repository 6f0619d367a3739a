/**
 * The day's sales orders: every active customer places a Poisson number of orders driven by their
 * order rate, the day's demand and their engagement (which falls before they churn). Orders are
 * streamed in a stable order with deterministic ids, so a day can be written in batches with
 * bounded memory and a re-run writes the same documents.
 */
import { dayNumber, dayStartMs, demandFactor, holidayFactor } from './calendar.js';
import { catalogueFor } from './catalogue.js';
import { customerContact, customersActiveOn, orderEngagement, type Customer, type WorldOptions } from './customers.js';
import { DIRTY_KINDS, DirtPlan, dirtyTimestamp, type DirtyKind } from './dirt.js';
import { Random, hashString, weightedTable } from './prng.js';
import { createPseudonymiser } from './pseudonymise.js';

/** Options of {@link generateSalesOrders}. */
export interface SalesGeneratorOptions extends WorldOptions {
  /** Run date, YYYY-MM-DD. */
  readonly date: string;
  /** Share of deliberately dirty documents, 0..1. */
  readonly dirtyShare: number;
  /** Key of the HMAC that pseudonymises e-mail and phone. */
  readonly piiHmacKey: string;
}

/** A field value of a generated record (clean or dirty). */
export type RecordValue = string | number | null;

/** One generated record: its document id, its fields, and its dirty kind when it is dirty on purpose. */
export interface GeneratedRecord {
  readonly id: string;
  readonly data: Record<string, RecordValue>;
  readonly dirty?: DirtyKind;
}

/** Fields that a `null_required` sales order may lose. */
export const SALES_NULLABLE_ON_PURPOSE = [
  'customer_id',
  'order_ts',
  'product_id',
  'quantity',
  'net_amount_usd',
] as const;

const TAG_DAY = hashString('sales.day');
const TAG_ORDERS = hashString('sales.orders');
const HOURS = weightedTable(
  [
    0.4, 0.25, 0.15, 0.1, 0.1, 0.2, 0.5, 1.1, 1.8, 2.3, 2.6, 2.8, 3.1, 2.9, 2.6, 2.5, 2.6, 2.9, 3.4, 4, 4.3, 3.8, 2.6,
    1.2,
  ].map((weight, hour) => [hour, weight] as const),
);
const QUANTITIES = weightedTable([
  [1, 0.7],
  [2, 0.18],
  [3, 0.07],
  [4, 0.03],
  [5, 0.02],
] as const);
const DISCOUNTS = [5, 10, 15, 20, 25, 30] as const;
const PAYMENTS = weightedTable([
  ['card', 0.55],
  ['paypal', 0.2],
  ['apple_pay', 0.12],
  ['bank_transfer', 0.08],
  ['gift_card', 0.05],
] as const);
const CHANNEL_BY_DEVICE = {
  mobile: weightedTable([
    ['mobile_app', 0.55],
    ['web', 0.3],
    ['store', 0.1],
    ['marketplace', 0.05],
  ] as const),
  desktop: weightedTable([
    ['web', 0.7],
    ['store', 0.12],
    ['marketplace', 0.13],
    ['mobile_app', 0.05],
  ] as const),
  tablet: weightedTable([
    ['web', 0.5],
    ['mobile_app', 0.3],
    ['store', 0.1],
    ['marketplace', 0.1],
  ] as const),
};

/**
 * A customer's pseudonymised e-mail and phone, per seed and key: the same customer orders on many
 * dates, and the two HMACs per ordering customer were a tenth of a day's generation. Keyed weakly on
 * the customer, so the memo lives as long as the world's cache keeps the customer.
 */
const contactHashes = new Map<string, WeakMap<Customer, { email: string; phone: string }>>();

function contactHashesOf(options: SalesGeneratorOptions): (customer: Customer) => { email: string; phone: string } {
  const key = `${options.seed}/${options.piiHmacKey}`;
  let memo = contactHashes.get(key);
  if (!memo) {
    if (contactHashes.size >= 4) contactHashes.delete(contactHashes.keys().next().value!);
    memo = new WeakMap();
    contactHashes.set(key, memo);
  }
  const pii = createPseudonymiser(options.piiHmacKey);
  return (customer) => {
    let hashes = memo.get(customer);
    if (!hashes) {
      const contact = customerContact(options, customer);
      hashes = { email: pii.hash(contact.email), phone: pii.hash(contact.phone) };
      memo.set(customer, hashes);
    }
    return hashes;
  };
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

/** Expected orders of a customer on a day (the Poisson rate). */
export function expectedOrders(customer: Customer, day: number): number {
  const welcome = day === customer.signupDay ? 0.5 : 0;
  return customer.orderRate * demandFactor(day) * orderEngagement(customer, day) + welcome;
}

/**
 * Stream the sales orders of a date, clean and dirty, as document-store records. Dirty kinds: a
 * timestamp as epoch millis, as `DD/MM/YYYY HH:mm`, without a zone; a required field null; negative
 * amounts; a second document with the same `order_id` (document id `<order_id>_dup`).
 */
export function* generateSalesOrders(options: SalesGeneratorOptions): Generator<GeneratedRecord> {
  const day = dayNumber(options.date);
  const catalogue = catalogueFor(options.seed);
  const contactOf = contactHashesOf(options);
  const dirt = new DirtPlan(options.dirtyShare, Random.of(options.seed, TAG_DAY, day), DIRTY_KINDS);
  const discountChance = Math.min(0.6, 0.12 * holidayFactor(day) * holidayFactor(day));
  const start = dayStartMs(day);
  for (const customer of customersActiveOn(options, day)) {
    const random = Random.of(options.seed, TAG_ORDERS, customer.number, day);
    const count = random.poisson(expectedOrders(customer, day));
    if (count === 0) continue;
    const { email: emailHash, phone: phoneHash } = contactOf(customer);
    for (let k = 0; k < count; k += 1) {
      const product = random.chance(0.5)
        ? random.pick(catalogue.byCategory.get(customer.favouriteCategory) ?? catalogue.products)
        : random.weighted(catalogue.popularity);
      const quantity = customer.segment === 'enterprise' ? random.int(1, 12) : random.weighted(QUANTITIES);
      const discount = random.chance(discountChance) ? random.pick(DISCOUNTS) : 0;
      const gross = round2(quantity * product.priceUsd);
      const statusDraw = random.next();
      const status =
        statusDraw < 0.04 ? 'cancelled' : statusDraw < 0.1 + 0.05 * customer.churnPropensity ? 'returned' : 'completed';
      const epochMs = start + random.weighted(HOURS) * 3_600_000 + random.int(0, 3_599_999);
      const orderId = `ord_${random.hex(16)}`;
      const kind = dirt.decide();
      const data: Record<string, RecordValue> = {
        order_id: orderId,
        customer_id: customer.id,
        order_ts: dirtyTimestamp(epochMs, kind),
        run_date: options.date,
        customer_email_hash: emailHash,
        customer_phone_hash: phoneHash,
        customer_region: customer.region,
        customer_segment: customer.segment,
        customer_signup_date: customer.signupDate,
        acquisition_channel: customer.acquisitionChannel,
        product_id: product.id,
        product_name: product.name,
        category: product.category,
        quantity,
        unit_price_usd: product.priceUsd,
        discount_pct: discount,
        gross_amount_usd: gross,
        net_amount_usd: round2(gross * (1 - discount / 100)),
        payment_method: random.weighted(PAYMENTS),
        channel: random.weighted(CHANNEL_BY_DEVICE[customer.device]),
        status,
      };
      if (kind === 'null_required') data[random.pick(SALES_NULLABLE_ON_PURPOSE)] = null;
      if (kind === 'negative_amount') {
        data.gross_amount_usd = -gross;
        data.net_amount_usd = -(data.net_amount_usd as number);
      }
      if (kind === 'duplicate_id') {
        yield { id: orderId, data };
        yield { id: `${orderId}_dup`, data: { ...data }, dirty: kind };
      } else {
        yield kind ? { id: orderId, data, dirty: kind } : { id: orderId, data };
      }
    }
  }
}

/**
 * The exact probability, from the hidden state (churn day, order rate, engagement, demand), that
 * a customer places no order in the `horizon` days after `day`: orders are Poisson, so it is
 * `exp(-expected orders)`. It is the ceiling of any churn model (the oracle of `bench/model`);
 * the product never uses it.
 */
export function noOrderProbability(customer: Customer, day: number, horizon: number): number {
  let expected = 0;
  for (let next = day + 1; next <= day + horizon; next += 1) expected += expectedOrders(customer, next);
  return Math.exp(-expected);
}
