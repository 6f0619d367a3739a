/**
 * The day's web clickstream: sessions of known customers (their visits thin out before they churn)
 * and of anonymous visitors, each a walk down the funnel page view, search, product view, add to
 * cart, checkout, purchase. Streamed in a stable order with deterministic ids.
 */
import { dayNumber, dayStartMs, demandFactor } from './calendar.js';
import { catalogueFor, type Product } from './catalogue.js';
import { customersActiveOn, sessionEngagement, type Customer, type Device, type WorldOptions } from './customers.js';
import { DIRTY_KINDS, DirtPlan, dirtyTimestamp } from './dirt.js';
import { Random, hashString, weightedTable } from './prng.js';
import type { GeneratedRecord, RecordValue } from './sales.generator.js';

/** Options of {@link generateClickEvents}. */
export interface ClickGeneratorOptions extends WorldOptions {
  readonly date: string;
  readonly dirtyShare: number;
}

/** Anonymous sessions per day at scale 1 on an ordinary day. */
export const ANONYMOUS_SESSIONS_PER_DAY = 85;
/** Distinct anonymous visitors (cookies) at scale 1; they come back now and then. */
const ANONYMOUS_VISITORS = 4000;

/** Fields that a `null_required` click event may lose. */
export const CLICK_NULLABLE_ON_PURPOSE = ['session_id', 'anonymous_id', 'event_type', 'page'] as const;

const TAG_DAY = hashString('clicks.day');
const TAG_CUSTOMER_SESSIONS = hashString('clicks.customer');
const TAG_ANONYMOUS_SESSIONS = hashString('clicks.anonymous');
const TAG_COOKIE = hashString('clicks.cookie');
const HOURS = weightedTable(
  [
    0.5, 0.3, 0.2, 0.15, 0.15, 0.3, 0.7, 1.3, 1.9, 2.2, 2.4, 2.6, 2.9, 2.7, 2.5, 2.4, 2.5, 2.8, 3.3, 3.9, 4.2, 3.9, 2.9,
    1.5,
  ].map((weight, hour) => [hour, weight] as const),
);
const REFERRERS = weightedTable([
  ['direct', 0.3],
  ['google', 0.3],
  ['facebook', 0.08],
  ['instagram', 0.08],
  ['newsletter', 0.1],
  ['partner', 0.05],
  ['other', 0.09],
] as const);
const DEVICES = weightedTable<Device>([
  ['mobile', 0.58],
  ['desktop', 0.34],
  ['tablet', 0.08],
]);
const INFO_PAGES = ['/', '/deals', '/help/shipping', '/help/returns', '/account', '/wishlist', '/stores'] as const;

interface Visitor {
  readonly anonymousId: string;
  readonly customer?: Customer;
  readonly device: Device;
  /** 0..1: how far down the funnel this visitor tends to go. */
  readonly intent: number;
  readonly category: string | undefined;
}

/** The cookie id of a known customer (stable across days). */
export function customerCookie(seed: number, customer: Pick<Customer, 'number'>): string {
  return `anon_${Random.of(seed, TAG_COOKIE, customer.number).hex(12)}`;
}

function searchTerm(random: Random, product: Product): string {
  const words = product.name.toLowerCase().split(' ');
  return random.chance(0.5)
    ? words[words.length - 1]!
    : random.chance(0.5)
      ? product.category
      : product.name.toLowerCase();
}

/**
 * Stream the click events of a date. Dirty kinds: `event_ts` as epoch millis, as `DD/MM/YYYY
 * HH:mm`, without a zone; a required field null; a negative `duration_ms`; an event written twice.
 */
export function* generateClickEvents(options: ClickGeneratorOptions): Generator<GeneratedRecord> {
  const day = dayNumber(options.date);
  const catalogue = catalogueFor(options.seed);
  const dirt = new DirtPlan(options.dirtyShare, Random.of(options.seed, TAG_DAY, day), DIRTY_KINDS);
  const demand = demandFactor(day);

  function* session(random: Random, visitor: Visitor): Generator<GeneratedRecord> {
    const sessionId = `ses_${random.hex(16)}`;
    const device = visitor.device;
    const referrer = visitor.customer && random.chance(0.15) ? 'newsletter' : random.weighted(REFERRERS);
    let clock = dayStartMs(day) + random.weighted(HOURS) * 3_600_000 + random.int(0, 3_599_999);
    const events: { type: string; page: string; productId: string | null; query: string | null }[] = [];
    const pool =
      visitor.category && random.chance(0.6)
        ? (catalogue.byCategory.get(visitor.category) ?? catalogue.products)
        : undefined;
    const pickProduct = () => (pool ? random.pick(pool) : random.weighted(catalogue.popularity));
    events.push({
      type: 'page_view',
      page: random.chance(0.6) ? '/' : `/c/${visitor.category ?? random.weighted(catalogue.popularity).category}`,
      productId: null,
      query: null,
    });
    let product = pickProduct();
    if (random.chance(0.35)) {
      const query = searchTerm(random, product);
      events.push({ type: 'search', page: `/search?q=${encodeURIComponent(query)}`, productId: null, query });
    }
    const views = random.chance(0.15) ? 0 : 1 + Math.min(6, Math.floor(random.exponential(1.2)));
    for (let v = 0; v < views; v += 1) {
      product = v === 0 ? product : pickProduct();
      events.push({ type: 'product_view', page: `/p/${product.id}`, productId: product.id, query: null });
    }
    if (views > 0 && random.chance(0.12 + 0.3 * visitor.intent)) {
      events.push({ type: 'add_to_cart', page: '/cart', productId: product.id, query: null });
      if (random.chance(0.45 + 0.3 * visitor.intent)) {
        events.push({ type: 'checkout', page: '/checkout', productId: null, query: null });
        if (random.chance(0.55 + 0.35 * visitor.intent))
          events.push({ type: 'purchase', page: '/order/confirmation', productId: product.id, query: null });
      }
    }
    const extra = Math.floor(random.exponential(0.6));
    for (let e = 0; e < extra; e += 1)
      events.push({ type: 'page_view', page: random.pick(INFO_PAGES), productId: null, query: null });

    for (const event of events) {
      const duration = Math.round(random.exponential(event.type === 'product_view' ? 45_000 : 18_000)) + 500;
      const eventId = `evt_${random.hex(16)}`;
      const kind = dirt.decide();
      const data: Record<string, RecordValue> = {
        event_id: eventId,
        session_id: sessionId,
        anonymous_id: visitor.anonymousId,
        customer_id: visitor.customer?.id ?? null,
        event_type: event.type,
        event_ts: dirtyTimestamp(clock, kind),
        run_date: options.date,
        page: event.page,
        product_id: event.productId,
        search_query: event.query,
        device,
        referrer,
        duration_ms: kind === 'negative_amount' ? -duration : duration,
      };
      if (kind === 'null_required') data[random.pick(CLICK_NULLABLE_ON_PURPOSE)] = null;
      clock += duration + random.int(200, 4000);
      // Keep every event on its run date: a session that would run past midnight is cut short.
      if (clock >= dayStartMs(day + 1)) clock = dayStartMs(day + 1) - 1;
      if (kind === 'duplicate_id') {
        yield { id: eventId, data };
        yield { id: eventId, data: { ...data }, dirty: kind };
      } else yield kind ? { id: eventId, data, dirty: kind } : { id: eventId, data };
    }
  }

  for (const customer of customersActiveOn(options, day)) {
    const random = Random.of(options.seed, TAG_CUSTOMER_SESSIONS, customer.number, day);
    const engagement = sessionEngagement(customer, day);
    const sessions = random.poisson(customer.sessionRate * demand * engagement);
    if (sessions === 0) continue;
    const visitor: Visitor = {
      anonymousId: customerCookie(options.seed, customer),
      customer,
      device: customer.device,
      intent: 0.3 + 0.7 * engagement * (1 - 0.5 * customer.churnPropensity),
      category: customer.favouriteCategory,
    };
    for (let s = 0; s < sessions; s += 1)
      yield* session(random, random.chance(0.85) ? visitor : { ...visitor, device: random.weighted(DEVICES) });
  }

  const anonymous = Random.of(options.seed, TAG_ANONYMOUS_SESSIONS, day).round(
    ANONYMOUS_SESSIONS_PER_DAY * options.scale * demand,
  );
  const visitors = Math.max(1, Math.round(ANONYMOUS_VISITORS * options.scale));
  for (let s = 0; s < anonymous; s += 1) {
    const random = Random.of(options.seed, TAG_ANONYMOUS_SESSIONS, day, s);
    const cookie = random.int(0, visitors - 1);
    const cookieRandom = Random.of(options.seed, TAG_COOKIE, -1, cookie);
    yield* session(random, {
      anonymousId: `anon_${cookieRandom.hex(12)}`,
      device: cookieRandom.weighted(DEVICES),
      intent: 0.15 * cookieRandom.next(),
      category: undefined,
    });
  }
}
