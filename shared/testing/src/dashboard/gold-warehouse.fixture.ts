/**
 * A synthetic gold layer built directly with DuckDB SQL, shaped as `dataform/README.md` describes
 * (same tables, grains and columns), with the project's own views that the dashboard reads on
 * top. Tests use a small one and check the API's numbers against SQL of their own; the benchmark builds 365 days at scale 10 (~3.6M orders) with the same code.
 *
 * Randomness comes from DuckDB's `hash` of (seed, row, salt), so a given seed always gives the same
 * warehouse. Customers have a sign-up day and a churn day; they order only between the two, so the
 * observed churn the predictive view computes from `fct_sales` is real, and the predicted
 * probabilities are a noisy function of the days left before churn.
 */
import { projectViewQuery } from '../lake/project-view.js';
import type { Warehouse } from '@mlops/kernel';

/** Strings placed in text fields to prove the page shows them as text. */
export interface HostileStrings {
  startupName: string;
  productName: string;
  category: string;
  sector: string;
  city: string;
  country: string;
  region: string;
  segment: string;
}

/** Options of {@link buildGoldWarehouse}. */
export interface GoldFixtureOptions {
  /** Last day with orders (inclusive), YYYY-MM-DD. */
  endDate: string;
  /** Days of history ending on `endDate`. */
  days: number;
  /** Volume: scale 1 is about 1,000 orders a day, 200 sessions a day and 1,000 startups. */
  scale: number;
  seed?: number;
  /** Days between two prediction snapshots (the latest is `endDate`). */
  snapshotEveryDays?: number;
  /** Model version written on the predictions. */
  modelVersion?: string;
  /** DuckDB schema of the gold tables. */
  schema?: string;
  hostile?: HostileStrings;
  /** Leave these gold tables out (to test a partly built warehouse). */
  skip?: readonly GoldTable[];
}

/** The gold tables the dashboard reads. */
export type GoldTable =
  | 'fct_sales'
  | 'dim_customer'
  | 'fct_sessions'
  | 'fct_click_features'
  | 'dim_startup'
  | 'fact_predictions_churn';

const REGIONS = ['north', 'south', 'east', 'west', 'central'];
const SEGMENTS = ['consumer', 'consumer', 'consumer', 'small_business', 'enterprise'];
const CHANNELS = ['organic', 'paid_search', 'social', 'referral', 'email', 'partner'];
const CATEGORIES = [
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
];
const ADJECTIVES = [
  'Aurora',
  'Nimbus',
  'Summit',
  'Harbor',
  'Cedar',
  'Pixel',
  'Luna',
  'Ember',
  'Atlas',
  'Willow',
  'Nova',
  'Drift',
];
const NOUNS = [
  'Lamp',
  'Speaker',
  'Kettle',
  'Hoodie',
  'Serum',
  'Yoga Mat',
  'Novel',
  'Puzzle',
  'Coffee',
  'Planter',
  'Charger',
  'Rug',
];
const PAYMENTS = ['card', 'card', 'card', 'paypal', 'bank_transfer', 'gift_card', 'apple_pay'];
const SALES_CHANNELS = ['web', 'web', 'mobile_app', 'mobile_app', 'store', 'marketplace'];
const DEVICES = ['desktop', 'desktop', 'mobile', 'mobile', 'mobile', 'tablet'];
const REFERRERS = [
  'direct',
  'direct',
  'google',
  'google',
  'google',
  'facebook',
  'instagram',
  'newsletter',
  'partner',
  'other',
];
const SECTORS = [
  'fintech',
  'healthtech',
  'climate',
  'ai',
  'saas',
  'ecommerce',
  'edtech',
  'mobility',
  'biotech',
  'cybersecurity',
  'gaming',
  'proptech',
];
const COUNTRIES = ['DE', 'FR', 'GB', 'NL', 'SE', 'ES', 'US', 'PT'];
const CITIES = ['Berlin', 'Paris', 'London', 'Amsterdam', 'Stockholm', 'Madrid', 'New York', 'Lisbon'];
const STARTUP_WORDS = ['Labs', 'AI', 'Systems', 'Cloud', 'Health', 'Pay', 'Works', 'Grid', 'Bio', 'Logic'];
const ROUNDS = [
  'bootstrapped',
  'pre_seed',
  'seed',
  'seed',
  'series_a',
  'series_a',
  'series_b',
  'series_c',
  'series_d_plus',
];

function list(values: readonly string[]): string {
  return `[${values.map((value) => `'${value.replace(/'/g, "''")}'`).join(', ')}]`;
}

/** `list[1 + floor(u * len)]`: a uniform pick from a SQL list literal. */
function pick(values: readonly string[], u: string): string {
  return `${list(values)}[1 + least(floor((${u}) * ${values.length})::integer, ${values.length - 1})]`;
}

function ident(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/i.test(name)) throw new Error(`bad identifier ${name}`);
  return name;
}

function int(value: number, name: string): number {
  if (!Number.isInteger(value)) throw new Error(`${name} must be a whole number`);
  return value;
}

/** Build (replace) the gold tables in `warehouse` (a read-write DuckDB warehouse). */
export async function buildGoldWarehouse(warehouse: Warehouse, options: GoldFixtureOptions): Promise<void> {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(options.endDate)) throw new Error('endDate must be YYYY-MM-DD');
  const days = int(options.days, 'days');
  const seed = int(options.seed ?? 42, 'seed');
  const every = int(options.snapshotEveryDays ?? 7, 'snapshotEveryDays');
  // Qualify with the catalog too: a file named warehouse.duckdb is itself a catalog "warehouse".
  const catalog = String((await warehouse.query<{ db: string }>('select current_database() as db'))[0]!.db).replace(
    /"/g,
    '""',
  );
  const schema = `"${catalog}".${ident(options.schema ?? 'warehouse')}`;
  const skip = new Set(options.skip ?? []);
  const customers = Math.max(50, Math.round(12_000 * options.scale));
  const ordersTotal = Math.round(1_000 * options.scale * days);
  const sessions = Math.max(100, Math.round(200 * options.scale * days));
  const startups = Math.max(30, Math.round(1_000 * options.scale));
  const start = `(date '${options.endDate}' - ${days - 1})`;
  const version = (options.modelVersion ?? 'v-000000000000').replace(/'/g, '');
  const u = (...parts: (string | number)[]) => `((hash(${seed}, ${parts.join(', ')}) % 1000003)::double / 1000003)`;
  const run = (sql: string, params?: unknown[]) => warehouse.execute(sql, params as never);

  await run(`create schema if not exists ${schema}`);

  await run(`create or replace temp table fx_products as
    select 'prd_' || lpad(i::varchar, 4, '0') as product_id,
           ${pick(ADJECTIVES, u('i', 1))} || ' ' || ${pick(NOUNS, u('i', 2))} || ' ' || i as product_name,
           ${pick(CATEGORIES, u('i', 3))} as category,
           (round(4 + pow(${u('i', 4)}, 2) * 400) + 0.99)::decimal(12, 2) as price_usd
    from range(1, 241) t(i)`);

  await run(`create or replace temp table fx_customers as
    with base as (
      select k, 'cus_' || lpad(k::varchar, 7, '0') as customer_id,
             (-180 + floor(${u('k', 11)} * ${days + 165}))::integer as signup_day,
             20 + floor(-ln(1 - ${u('k', 12)}) * 240)::integer as lifetime_days,
             -ln(1 - ${u('k', 13)}) as weight,
             ${pick(REGIONS, u('k', 14))} as region,
             ${pick(SEGMENTS, u('k', 15))} as segment,
             ${pick(CHANNELS, u('k', 16))} as acquisition_channel
      from range(${customers}) t(k)
    ), windows as (
      select *, signup_day + lifetime_days as churn_day,
             greatest(signup_day, 0) as first_day,
             least(signup_day + lifetime_days - 1, ${days - 1}) as last_day
      from base
    ), active as (
      select *, greatest(0, last_day - first_day + 1) as active_days from windows
    )
    select *, floor(weight * active_days * ${ordersTotal} / (sum(weight * active_days) over ()) + ${u('k', 17)})::integer as n_orders
    from active`);

  if (!skip.has('fct_sales')) {
    await run(`create or replace table ${schema}.fct_sales as
      with lines as (
        select c.customer_id, c.k, c.first_day, c.active_days, unnest(range(c.n_orders)) as j
        from fx_customers c where c.n_orders > 0
      ), drawn as (
        select l.customer_id, l.k, l.j,
               (l.first_day + least(floor(${u('l.k', 'l.j', 21)} * l.active_days)::integer, l.active_days - 1)) as day,
               floor(${u('l.k', 'l.j', 22)} * 86400)::integer as second_of_day,
               1 + least(floor(pow(${u('l.k', 'l.j', 23)}, 2) * 240)::integer, 239) as product_index,
               1 + floor(pow(${u('l.k', 'l.j', 24)}, 3) * 4)::integer as quantity,
               ${list(['0', '0', '0', '5', '10', '15', '20'])}[1 + least(floor(${u('l.k', 'l.j', 25)} * 7)::integer, 6)]::integer as discount_pct,
               ${u('l.k', 'l.j', 26)} as status_draw,
               ${pick(PAYMENTS, u('l.k', 'l.j', 27))} as payment_method,
               ${pick(SALES_CHANNELS, u('l.k', 'l.j', 28))} as channel
        from lines l
      ), final as (
        select 'ord_' || d.k || '_' || d.j as order_id,
               d.customer_id,
               (${start} + d.day)::timestamp + to_seconds(d.second_of_day) as ordered_at,
               (${start} + d.day)::date as order_date,
               p.product_id, p.product_name, p.category,
               d.quantity,
               p.price_usd as unit_price_usd,
               d.discount_pct,
               (p.price_usd * d.quantity)::decimal(12, 2) as gross_amount_usd,
               round(p.price_usd * d.quantity * (100 - d.discount_pct) / 100, 2)::decimal(12, 2) as net_amount_usd,
               d.payment_method, d.channel,
               case when d.status_draw < 0.90 then 'completed' when d.status_draw < 0.96 then 'returned' else 'cancelled' end as status,
               (${start} + d.day)::date as run_date
        from drawn d join fx_products p on p.product_id = 'prd_' || lpad(d.product_index::varchar, 4, '0')
      )
      select order_id, customer_id, ordered_at, order_date, product_id, product_name, category, quantity, unit_price_usd,
             discount_pct, gross_amount_usd, net_amount_usd, payment_method, channel, status, status = 'completed' as is_completed, run_date
      from final
      order by order_date, order_id`);
  }

  if (!skip.has('dim_customer')) {
    const sales = skip.has('fct_sales')
      ? `(select null::varchar as customer_id, null::timestamp as ordered_at, null::boolean as is_completed, null::decimal(12,2) as net_amount_usd where false)`
      : `${schema}.fct_sales`;
    await run(`create or replace table ${schema}.dim_customer as
      with orders as (
        select customer_id, min(ordered_at) as first_order_at, max(ordered_at) as last_order_at, count(*) as lifetime_orders,
               coalesce(sum(net_amount_usd) filter (where is_completed), 0)::decimal(14, 2) as lifetime_revenue_usd
        from ${sales} group by customer_id
      )
      select c.customer_id, sha256(c.customer_id || ':email') as email_hash, sha256(c.customer_id || ':phone') as phone_hash,
             c.region, c.segment, (${start} + c.signup_day)::date as signup_date, c.acquisition_channel,
             o.first_order_at, o.last_order_at, coalesce(o.lifetime_orders, 0) as lifetime_orders, coalesce(o.lifetime_revenue_usd, 0) as lifetime_revenue_usd
      from fx_customers c left join orders o using (customer_id)
      where c.signup_day < ${days}
      order by c.customer_id`);
  }

  if (!skip.has('fct_sessions')) {
    await run(`create or replace table ${schema}.fct_sessions as
      with base as (
        select i, floor(${u('i', 31)} * ${days})::integer as day,
               ${u('i', 32)} < 0.7 as is_known,
               floor(${u('i', 33)} * ${customers})::integer as k,
               ${pick(DEVICES, u('i', 34))} as device,
               ${pick(REFERRERS, u('i', 35))} as referrer,
               ${u('i', 36)} < 0.62 as reached_product_view,
               ${u('i', 37)} < 0.38 as to_cart,
               ${u('i', 38)} < 0.55 as to_checkout,
               ${u('i', 39)} < 0.72 as to_purchase,
               1 + floor(${u('i', 40)} * 8)::integer as page_views,
               floor(${u('i', 41)} * 3)::integer as searches,
               floor(${u('i', 42)} * 86400)::integer as second_of_day
        from range(${sessions}) t(i)
      ), funnel as (
        select *, reached_product_view and to_cart as reached_cart,
               reached_product_view and to_cart and to_checkout as reached_checkout,
               reached_product_view and to_cart and to_checkout and to_purchase as reached_purchase
        from base
      ), final as (
        select 'ses_' || i as session_id,
               case when is_known then 'cus_' || lpad(k::varchar, 7, '0') end as customer_id,
               'anon_' || (i % ${Math.max(10, Math.round(sessions / 3))}) as anonymous_id,
               (${start} + day)::date as session_date,
               (${start} + day)::timestamp + to_seconds(second_of_day) as started_at,
               device, referrer,
               page_views, searches,
               case when reached_product_view then 1 + (i % 3) else 0 end as product_views,
               case when reached_cart then 1 else 0 end as add_to_carts,
               case when reached_checkout then 1 else 0 end as checkouts,
               case when reached_purchase then 1 else 0 end as purchases,
               (page_views * 21000 + searches * 9000) as duration_ms,
               reached_product_view, reached_cart, reached_checkout, reached_purchase
        from funnel
      )
      select session_id, customer_id, anonymous_id, session_date, started_at, device, referrer,
             page_views + searches + product_views + add_to_carts + checkouts + purchases as events,
             page_views, searches, product_views, add_to_carts, checkouts, purchases, duration_ms,
             reached_product_view, reached_cart, reached_checkout, reached_purchase
      from final order by session_date, session_id`);
  }

  if (!skip.has('fct_click_features') && !skip.has('fct_sessions')) {
    await run(`create or replace table ${schema}.fct_click_features as
      select customer_id, session_date as activity_date, count(*) as sessions, sum(page_views) as page_views, sum(searches) as searches,
             sum(product_views) as product_views, sum(add_to_carts) as add_to_carts, sum(checkouts) as checkouts,
             sum(purchases) as purchases, sum(duration_ms) as duration_ms
      from ${schema}.fct_sessions where customer_id is not null
      group by all order by activity_date, customer_id`);
  }

  if (!skip.has('dim_startup')) {
    await run(`create or replace table ${schema}.dim_startup as
      with base as (
        select i, ${u('i', 51)} as status_draw, ${u('i', 52)} as funding_draw, floor(${u('i', 53)} * ${days})::integer as first_seen_day,
               floor(${u('i', 54)} * ${CITIES.length})::integer as place
        from range(1, ${startups + 1}) t(i)
      )
      select 'cmp_' || lpad(i::varchar, 6, '0') as company_id,
             ${pick(ADJECTIVES, u('i', 55))} || ' ' || ${pick(STARTUP_WORDS, u('i', 56))} || ' ' || i as name,
             ${pick(SECTORS, u('i', 57))} as sector,
             ${list(COUNTRIES)}[1 + place] as country,
             ${list(CITIES)}[1 + place] as city,
             2005 + floor(${u('i', 58)} * 20)::integer as founded_year,
             case when status_draw < 0.70 then 'active' when status_draw < 0.82 then 'acquired' when status_draw < 0.95 then 'closed' else 'ipo' end as status,
             (2 + floor(pow(${u('i', 59)}, 3) * 2000))::integer as headcount,
             round(exp(11 + funding_draw * 7.5), -3)::bigint as total_funding_usd,
             ${pick(ROUNDS, 'funding_draw')} as last_round,
             (${start} + first_seen_day - floor(${u('i', 60)} * 400)::integer)::date as last_round_date,
             (${start} + first_seen_day)::timestamp + interval 9 hour as updated_at,
             (${start} + first_seen_day)::date as first_seen_date
      from base order by company_id`);
  }

  if (!skip.has('fact_predictions_churn')) {
    await run(`create or replace table ${schema}.fact_predictions_churn as
      with snapshots as (
        select (${days - 1} - j * ${every})::integer as s from range(0, ${Math.floor((days - 1) / every) + 1}) t(j)
        where ${days - 1} - j * ${every} >= 0
      ), scored as (
        select c.customer_id, c.k, sn.s, c.churn_day - sn.s as days_left,
               (${u('c.k', 'sn.s', 71)} + ${u('c.k', 'sn.s', 72)} + ${u('c.k', 'sn.s', 73)} - 1.5) * 2 as noise
        from fx_customers c join snapshots sn on c.signup_day <= sn.s and c.churn_day > sn.s - 60
      ), probabilities as (
        select customer_id, s, 1 / (1 + exp(-(1.2 - days_left / 25.0 + noise))) as p from scored
      )
      select customer_id, (${start} + s)::date as snapshot_date, round(p, 6) as churn_probability,
             case when p >= 0.6 then 'high' when p >= 0.3 then 'medium' else 'low' end as risk_band,
             '${version}' as model_version,
             (${start} + s + 1)::timestamp + interval 2 hour as predicted_at
      from probabilities order by snapshot_date, customer_id`);
  }

  const hostile = options.hostile;
  if (hostile) {
    // A few rows of each text field carry the hostile string (the rest stay ordinary).
    if (!skip.has('fct_sales')) {
      // The best-selling product carries both strings, so they show in the top-products table.
      await run(
        `update ${schema}.fct_sales set product_name = ?, category = ? where product_id = (select product_id from ${schema}.fct_sales group by product_id order by sum(net_amount_usd) desc, product_id limit 1)`,
        [hostile.productName, hostile.category],
      );
      await run(`update ${schema}.fct_sales set category = ? where category = 'garden'`, [hostile.category]);
    }
    if (!skip.has('dim_customer')) {
      await run(
        `update ${schema}.dim_customer set region = ? where region = 'central' or customer_id = (select customer_id from ${schema}.dim_customer order by lifetime_revenue_usd desc, customer_id limit 1)`,
        [hostile.region],
      );
      await run(
        `update ${schema}.dim_customer set segment = ? where segment = 'enterprise' or customer_id = (select customer_id from ${schema}.dim_customer order by lifetime_revenue_usd desc, customer_id limit 1)`,
        [hostile.segment],
      );
    }
    if (!skip.has('dim_startup')) {
      await run(
        `update ${schema}.dim_startup set name = ? where company_id = (select company_id from ${schema}.dim_startup order by total_funding_usd desc, company_id limit 1)`,
        [hostile.startupName],
      );
      await run(
        `update ${schema}.dim_startup set sector = ? where sector = 'gaming' or company_id = (select company_id from ${schema}.dim_startup order by total_funding_usd desc, company_id limit 1 offset 1)`,
        [hostile.sector],
      );
      await run(
        `update ${schema}.dim_startup set city = ?, country = ? where company_id in (select company_id from ${schema}.dim_startup order by total_funding_usd desc, company_id limit 3)`,
        [hostile.city, hostile.country],
      );
    }
  }

  // The project's own views over the sales, as the transformer builds them.
  if (!skip.has('fct_sales'))
    for (const view of ['bi_customer_sales_daily', 'bi_customer_category_sales_daily', 'bi_product_sales_daily'])
      await run(`create or replace view ${schema}.${view} as ${await projectViewQuery(view, schema)}`);

  await run('drop table if exists fx_products');
  await run('drop table if exists fx_customers');
  await run('checkpoint');
}
