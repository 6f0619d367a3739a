/**
 * The customer population. Customers sign up on every day; the customers of day `s` are numbered
 * `0..n-1` and every attribute of customer `(s, i)` is drawn from its own stream keyed by
 * `(seed, s, i)`, so the customers active on any date are a function of (seed, scale, date) alone:
 * any date can be generated without generating the others, and the sales and click generators
 * agree on who exists and who is about to churn.
 *
 * Each customer has a hidden churn propensity that sets how long they stay and how often they buy.
 * In the weeks before their churn day they order less and visit the site less; from the churn day
 * on they do nothing. Churn ("no order in the 30 days after a snapshot") is therefore learnable
 * from recency, frequency and engagement trends of the past.
 */
import { dayNumber, isoDate, trendFactor } from './calendar.js';
import { Random, hashString, weightedTable } from './prng.js';

/** Region of a customer. */
export type Region = 'north' | 'south' | 'east' | 'west' | 'central';
/** Segment of a customer. */
export type Segment = 'consumer' | 'small_business' | 'enterprise';
/** How a customer was acquired. */
export type AcquisitionChannel = 'organic' | 'paid_search' | 'social' | 'referral' | 'email' | 'partner';
/** Device a visitor uses. */
export type Device = 'desktop' | 'mobile' | 'tablet';

/** One customer of the synthetic world. The churn fields are hidden truth, never written out. */
export interface Customer {
  /** `cus_` and the customer number. */
  readonly id: string;
  /** Unique number: (days since 1900-01-01 of the sign-up day) x 100,000 + index of that day. */
  readonly number: number;
  readonly signupDay: number;
  /** Sign-up date, YYYY-MM-DD. */
  readonly signupDate: string;
  readonly region: Region;
  readonly segment: Segment;
  readonly acquisitionChannel: AcquisitionChannel;
  /** Hidden churn propensity in [0, 1]: higher leaves sooner and buys less. */
  readonly churnPropensity: number;
  /** First day (day number) on which the customer no longer does anything. */
  readonly churnDay: number;
  /** Expected orders per day on an ordinary day while fully engaged. */
  readonly orderRate: number;
  /** Expected web sessions per day on an ordinary day while fully engaged. */
  readonly sessionRate: number;
  /** Device most sessions use. */
  readonly device: Device;
  /** Category the customer buys and browses most. */
  readonly favouriteCategory: string;
}

/** Volumes and shape of the population. */
export const POPULATION = {
  /** Sign-ups per day at scale 1 on 2026-01-01 (they follow the trend). */
  signupsPerDay: 30,
  /** Nobody stays longer than this; it bounds how far back a date looks for its customers. */
  maxLifetimeDays: 900,
  /** Orders thin out over this many days before the churn day. */
  orderDeclineDays: 42,
  /** Site visits thin out over this many days before the churn day (earlier than orders). */
  sessionDeclineDays: 56,
} as const;

const DAYS_1900_TO_1970 = 25567;
const TAG_SIGNUPS = hashString('customers.signups');
const TAG_CUSTOMER = hashString('customers.customer');

const REGIONS = weightedTable<Region>([
  ['north', 0.22],
  ['south', 0.24],
  ['east', 0.18],
  ['west', 0.2],
  ['central', 0.16],
]);
const SEGMENTS = weightedTable<Segment>([
  ['consumer', 0.8],
  ['small_business', 0.15],
  ['enterprise', 0.05],
]);
const CHANNELS = weightedTable<AcquisitionChannel>([
  ['organic', 0.3],
  ['paid_search', 0.25],
  ['social', 0.18],
  ['referral', 0.1],
  ['email', 0.1],
  ['partner', 0.07],
]);
const DEVICES = weightedTable<Device>([
  ['mobile', 0.55],
  ['desktop', 0.37],
  ['tablet', 0.08],
]);
const CATEGORY_NAMES = [
  'electronics',
  'home',
  'kitchen',
  'apparel',
  'beauty',
  'sports',
  'books',
  'toys',
  'grocery',
  'garden',
] as const;

/** Churn propensity shifts by how a customer arrived and who they are. */
const CHANNEL_RISK: Record<AcquisitionChannel, number> = {
  organic: 0,
  paid_search: 0.08,
  social: 0.14,
  referral: -0.1,
  email: -0.04,
  partner: 0.02,
};
const SEGMENT_RISK: Record<Segment, number> = { consumer: 0.05, small_business: -0.05, enterprise: -0.18 };
const SEGMENT_ORDER_RATE: Record<Segment, number> = { consumer: 0.09, small_business: 0.21, enterprise: 0.45 };

/** The world a generator works in: a seed and a volume scale. */
export interface WorldOptions {
  readonly seed: number;
  /** Volume multiplier; scale 1 is about 1,000 orders and 1,000 click events a day. */
  readonly scale: number;
}

/** How many customers sign up on a day. */
export function signupsOn(world: WorldOptions, day: number): number {
  return Random.of(world.seed, TAG_SIGNUPS, day).round(POPULATION.signupsPerDay * world.scale * trendFactor(day));
}

/** The customer `index` of sign-up day `signupDay`. */
export function customerAt(world: WorldOptions, signupDay: number, index: number): Customer {
  return drawCustomer(world, signupDay, isoDate(signupDay), index, Number.NEGATIVE_INFINITY)!;
}

/**
 * The customer of an id the world generated (`cus_` and the customer number), or undefined for
 * any other id. For measurements against the hidden truth; the product never uses it.
 */
export function customerById(world: WorldOptions, id: string): Customer | undefined {
  const match = /^cus_(\d+)$/.exec(id);
  if (!match) return undefined;
  const number = Number(match[1]);
  const index = number % 100_000;
  const signupDay = Math.floor(number / 100_000) - DAYS_1900_TO_1970;
  if (index >= signupsOn(world, signupDay)) return undefined;
  return customerAt(world, signupDay, index);
}

/** The customer number's parts: sign-up day and index. */
export function customerNumber(signupDay: number, index: number): number {
  return (signupDay + DAYS_1900_TO_1970) * 100_000 + index;
}

/** The first draws of a customer, up to the churn day (what deciding "still active?" needs). */
interface Lifetime {
  random: Random;
  segment: Segment;
  acquisitionChannel: AcquisitionChannel;
  churnPropensity: number;
  churnDay: number;
}

function drawLifetime(world: WorldOptions, signupDay: number, index: number): Lifetime {
  const random = Random.of(world.seed, TAG_CUSTOMER, signupDay, index);
  const segment = random.weighted(SEGMENTS);
  const acquisitionChannel = random.weighted(CHANNELS);
  const base = Math.pow(random.next(), 1.4);
  const churnPropensity = Math.min(1, Math.max(0, base + CHANNEL_RISK[acquisitionChannel] + SEGMENT_RISK[segment]));
  const meanLifetime = 21 + 640 * Math.pow(1 - churnPropensity, 2);
  const lifetime = Math.min(POPULATION.maxLifetimeDays, 7 + Math.floor(random.exponential(meanLifetime)));
  return { random, segment, acquisitionChannel, churnPropensity, churnDay: signupDay + lifetime };
}

// Draws the churn day first and stops there when the customer is gone by `activeOn`: most of the
// population scanned for a date has already churned, and they are never materialised.
function drawCustomer(
  world: WorldOptions,
  signupDay: number,
  signupDate: string,
  index: number,
  activeOn: number,
): Customer | undefined {
  const { random, segment, acquisitionChannel, churnPropensity, churnDay } = drawLifetime(world, signupDay, index);
  if (churnDay <= activeOn) return undefined;
  const region = random.weighted(REGIONS);
  const orderRate =
    SEGMENT_ORDER_RATE[segment] * Math.exp(0.45 * random.normal() - 0.1) * (1.25 - 0.6 * churnPropensity);
  const sessionRate =
    0.026 * Math.exp(0.5 * random.normal()) * (1.3 - 0.6 * churnPropensity) * (segment === 'enterprise' ? 0.6 : 1);
  const device = random.weighted(DEVICES);
  const favouriteCategory = random.pick(CATEGORY_NAMES);
  const number = customerNumber(signupDay, index);
  return {
    id: `cus_${String(number).padStart(6, '0')}`,
    number,
    signupDay,
    signupDate,
    region,
    segment,
    acquisitionChannel,
    churnPropensity,
    churnDay,
    orderRate,
    sessionRate,
    device,
    favouriteCategory,
  };
}

/** The customers of one sign-up day: every churn day, and the customers materialised so far. */
interface SignupCohort {
  signupDate: string;
  churnDays: Float64Array;
  customers: (Customer | undefined)[];
}

// Every generator of every date scans the sign-up days of the last 900 days: the cohorts are drawn
// once per process and world, and a customer is materialised the first time it is active. A backfill
// moves forward, so the oldest cohorts are dropped first.
const COHORTS_PER_WORLD = 2 * POPULATION.maxLifetimeDays;
const WORLDS = 4;
const cohortCache = new Map<string, Map<number, SignupCohort>>();

function cohortOf(world: WorldOptions, signupDay: number): SignupCohort {
  const key = `${world.seed}/${world.scale}`;
  let cohorts = cohortCache.get(key);
  if (!cohorts) {
    if (cohortCache.size >= WORLDS) cohortCache.delete(cohortCache.keys().next().value!);
    cohorts = new Map();
    cohortCache.set(key, cohorts);
  }
  let cohort = cohorts.get(signupDay);
  if (!cohort) {
    if (cohorts.size >= COHORTS_PER_WORLD) cohorts.delete(cohorts.keys().next().value!);
    const count = signupsOn(world, signupDay);
    const churnDays = new Float64Array(count);
    for (let index = 0; index < count; index += 1) churnDays[index] = drawLifetime(world, signupDay, index).churnDay;
    cohort = { signupDate: isoDate(signupDay), churnDays, customers: new Array<Customer | undefined>(count) };
    cohorts.set(signupDay, cohort);
  }
  return cohort;
}

/**
 * The customers active on a day (signed up on or before it, not yet churned), in a stable order
 * (sign-up day, then index). Scans the sign-up days of the last {@link POPULATION.maxLifetimeDays}.
 */
export function* customersActiveOn(world: WorldOptions, day: number): Generator<Customer> {
  for (let signupDay = day - POPULATION.maxLifetimeDays + 1; signupDay <= day; signupDay += 1) {
    const cohort = cohortOf(world, signupDay);
    const { churnDays, customers } = cohort;
    for (let index = 0; index < churnDays.length; index += 1) {
      if (churnDays[index]! <= day) continue;
      const customer = (customers[index] ??= drawCustomer(
        world,
        signupDay,
        cohort.signupDate,
        index,
        Number.NEGATIVE_INFINITY,
      )!);
      yield customer;
    }
  }
}

/** The customers active on an ISO date. */
export function customersActiveOnDate(world: WorldOptions, date: string): Generator<Customer> {
  return customersActiveOn(world, dayNumber(date));
}

function decline(customer: Customer, day: number, window: number, floor: number): number {
  if (day >= customer.churnDay || day < customer.signupDay) return 0;
  const left = customer.churnDay - day;
  return left >= window ? 1 : floor + (1 - floor) * (left / window);
}

/** How engaged a customer is as a buyer on a day: 1, falling to 0.1 before the churn day, then 0. */
export function orderEngagement(customer: Customer, day: number): number {
  return decline(customer, day, POPULATION.orderDeclineDays, 0.1);
}

/** How engaged a customer is as a visitor on a day: falls earlier and deeper than orders. */
export function sessionEngagement(customer: Customer, day: number): number {
  return decline(customer, day, POPULATION.sessionDeclineDays, 0.04);
}

/** Whether the customer places no order in the `horizon` days after `day` because they churned. */
export function churnsWithin(customer: Customer, day: number, horizon = 30): boolean {
  return customer.churnDay <= day + horizon;
}

const FIRST_NAMES = [
  'ana',
  'ben',
  'chloe',
  'david',
  'emma',
  'farid',
  'grace',
  'hugo',
  'ines',
  'jonas',
  'kim',
  'liam',
  'maya',
  'noah',
  'olga',
  'priya',
  'quinn',
  'rosa',
  'sami',
  'tara',
  'umar',
  'vera',
  'wei',
  'yara',
  'zoe',
];
const LAST_NAMES = [
  'silva',
  'meyer',
  'khan',
  'rossi',
  'dubois',
  'nowak',
  'garcia',
  'smith',
  'tanaka',
  'larsen',
  'okafor',
  'novak',
  'kowalski',
  'schmidt',
  'lopez',
  'martin',
  'chen',
  'haddad',
  'murphy',
  'costa',
];
const DOMAINS = ['example.com', 'mail.example', 'inbox.example', 'post.example', 'corp.example'];

/**
 * The customer's raw e-mail address and phone number. They exist only in memory: generators pass
 * them straight to {@link pseudonymise} and never write them anywhere.
 */
export function customerContact(
  world: Pick<WorldOptions, 'seed'>,
  customer: Pick<Customer, 'number'>,
): { email: string; phone: string } {
  const random = Random.of(world.seed, hashString('customers.contact'), customer.number);
  const first = random.pick(FIRST_NAMES);
  const last = random.pick(LAST_NAMES);
  const email = `${first}.${last}${customer.number % 100_000}@${random.pick(DOMAINS)}`;
  const phone = `+1${random.int(201, 989)}${String(random.int(0, 9_999_999)).padStart(7, '0')}`;
  return { email, phone };
}
