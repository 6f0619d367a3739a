// The columns of each base_* view that describe a record (everything but its run date and id), in
// the order used to break ties. Deduplication orders by all of them, so when two copies differ the
// same copy wins on every engine and every run, and when they do not, it does not matter which.
const sales_order = [
  'ordered_at',
  'order_ts',
  'customer_id',
  'email_hash',
  'phone_hash',
  'region',
  'segment',
  'signup_date',
  'acquisition_channel',
  'product_id',
  'product_name',
  'category',
  'quantity_raw',
  'unit_price_raw',
  'discount_pct_raw',
  'gross_amount_raw',
  'net_amount_raw',
  'payment_method',
  'channel',
  'status',
];

const click_event = [
  'event_at',
  'event_ts',
  'session_id',
  'anonymous_id',
  'customer_id',
  'event_type',
  'page',
  'product_id',
  'search_query',
  'device',
  'referrer',
  'duration_ms_raw',
];

const startup_company = [
  'updated_at',
  'updated_at_raw',
  'name',
  'sector',
  'country',
  'city',
  'founded_year_raw',
  'status',
  'headcount_raw',
  'total_funding_raw',
  'last_round',
  'last_round_date_raw',
  'load_type',
];

// `a nulls last, b nulls last, ...` for a window's order by.
function order_by(columns, direction = '') {
  return columns.map((column) => `${column}${direction ? ` ${direction}` : ''} nulls last`).join(', ');
}

module.exports = { sales_order, click_event, startup_company, order_by };
