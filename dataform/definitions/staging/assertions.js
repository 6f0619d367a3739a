// The checks of the incremental staging tables, over the run dates' partitions (includes/checks.js).
// Each table's grain is its unique key; its keys have their formats (includes/keys.js).
const { partition_assertions } = require('includes/checks');
const keys = require('includes/keys');

// The reasons of each quarantine table, in the order the base_* view checks them.
const SALES_REASONS = [
  'missing_order_id',
  'invalid_order_id',
  'missing_customer_id',
  'invalid_customer_id',
  'missing_order_ts',
  'unparseable_order_ts',
  'order_ts_after_run_date',
  'order_ts_out_of_range',
  'missing_product_id',
  'invalid_product_id',
  'missing_amount',
  'unparseable_amount',
  'negative_amount',
  'invalid_quantity',
  'invalid_discount_pct',
  'missing_status',
  'invalid_status',
  'duplicate_order_id',
  'conflicting_order_id',
];
const CLICK_REASONS = [
  'missing_event_id',
  'invalid_event_id',
  'missing_session_id',
  'invalid_session_id',
  'missing_anonymous_id',
  'invalid_anonymous_id',
  'invalid_customer_id',
  'invalid_product_id',
  'missing_event_type',
  'invalid_event_type',
  'missing_event_ts',
  'unparseable_event_ts',
  'event_ts_after_run_date',
  'event_ts_out_of_range',
  'missing_page',
  'missing_duration_ms',
  'unparseable_duration_ms',
  'negative_duration_ms',
  'duplicate_event_id',
  'conflicting_event_id',
];
const STARTUP_REASONS = [
  'missing_company_id',
  'invalid_company_id',
  'missing_name',
  'missing_updated_at',
  'unparseable_updated_at',
  'updated_at_after_run_date',
  'missing_sector',
  'missing_country',
  'invalid_founded_year',
  'missing_headcount',
  'invalid_headcount',
  'unparseable_total_funding',
  'negative_total_funding',
  'missing_status',
  'invalid_status',
  'duplicate_company_version',
  'superseded_version',
];

function one_of(column, values) {
  return `${column} in (${values.map((value) => `'${value}'`).join(', ')})`;
}

partition_assertions({
  dataset: 'staging',
  table: 'stg_sales__orders',
  partition_column: 'run_date',
  scope: 'run_dates',
  tags: ['staging', 'sales'],
  unique_key: ['run_date', 'order_id'],
  non_null: [
    'run_date',
    'order_id',
    'customer_id',
    'ordered_at',
    'order_date',
    'product_id',
    'quantity',
    'unit_price_usd',
    'discount_pct',
    'gross_amount_usd',
    'net_amount_usd',
    'status',
  ],
  row_conditions: [
    'quantity >= 1',
    'unit_price_usd >= 0 and gross_amount_usd >= 0 and net_amount_usd >= 0',
    'discount_pct between 0 and 100',
    "status in ('completed', 'returned', 'cancelled')",
    'order_date <= run_date',
    keys.fits('order_id'),
    keys.fits('customer_id'),
    keys.fits('product_id'),
    "email_hash is null or regexp_contains(email_hash, r'^[0-9a-f]{64}$')",
    "phone_hash is null or regexp_contains(phone_hash, r'^[0-9a-f]{64}$')",
  ],
});

partition_assertions({
  dataset: 'staging',
  table: 'quarantine_sales',
  partition_column: 'run_date',
  scope: 'run_dates',
  tags: ['staging', 'sales', 'quarantine'],
  unique_key: ['run_date', 'record_number'],
  non_null: ['run_date', 'record_number', 'reject_reason'],
  row_conditions: [
    one_of('reject_reason', SALES_REASONS),
    "email_hash is null or regexp_contains(email_hash, r'^[0-9a-f]{64}$')",
    "phone_hash is null or regexp_contains(phone_hash, r'^[0-9a-f]{64}$')",
  ],
});

partition_assertions({
  dataset: 'staging',
  table: 'stg_clickstream__events',
  partition_column: 'run_date',
  scope: 'run_dates',
  tags: ['staging', 'clickstream'],
  unique_key: ['run_date', 'event_id'],
  non_null: [
    'run_date',
    'event_id',
    'session_id',
    'anonymous_id',
    'event_type',
    'event_at',
    'duration_ms',
    'page',
    'device',
    'referrer',
  ],
  row_conditions: [
    "event_type in ('page_view', 'search', 'product_view', 'add_to_cart', 'checkout', 'purchase')",
    'duration_ms >= 0',
    'date(event_at) <= run_date',
    keys.fits('event_id'),
    keys.fits('session_id'),
    keys.fits('anonymous_id'),
    `customer_id is null or ${keys.fits('customer_id')}`,
    `product_id is null or ${keys.fits('product_id')}`,
  ],
});

partition_assertions({
  dataset: 'staging',
  table: 'quarantine_clickstream',
  partition_column: 'run_date',
  scope: 'run_dates',
  tags: ['staging', 'clickstream', 'quarantine'],
  unique_key: ['run_date', 'record_number'],
  non_null: ['run_date', 'record_number', 'reject_reason'],
  row_conditions: [one_of('reject_reason', CLICK_REASONS)],
});

partition_assertions({
  dataset: 'staging',
  table: 'stg_startups__companies',
  partition_column: 'run_date',
  scope: 'run_dates',
  tags: ['staging', 'startups'],
  unique_key: ['run_date', 'company_id'],
  non_null: [
    'run_date',
    'company_id',
    'name',
    'sector',
    'country',
    'founded_year',
    'status',
    'headcount',
    'total_funding_usd',
    'updated_at',
  ],
  row_conditions: [
    "status in ('active', 'acquired', 'closed', 'ipo')",
    'headcount >= 1',
    'total_funding_usd >= 0',
    'founded_year between 1900 and extract(year from run_date)',
    'date(updated_at) <= run_date',
    keys.fits('company_id'),
  ],
});

partition_assertions({
  dataset: 'staging',
  table: 'quarantine_startups',
  partition_column: 'run_date',
  scope: 'run_dates',
  tags: ['staging', 'startups', 'quarantine'],
  unique_key: ['run_date', 'record_number'],
  non_null: ['run_date', 'record_number', 'reject_reason'],
  row_conditions: [one_of('reject_reason', STARTUP_REASONS)],
});
