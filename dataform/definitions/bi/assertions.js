// The checks of the BI views over the days the run rewrote (includes/checks.js): the views read
// whole gold tables, so checking every day on every run would grow with history.
const { partition_assertions } = require('includes/checks');

partition_assertions({
  dataset: 'warehouse',
  table: 'bi_sales_daily',
  partition_column: 'order_date',
  scope: 'affected_dates',
  tags: ['warehouse', 'bi', 'sales'],
  unique_key: ['order_date', 'category', 'channel', 'customer_region'],
  non_null: ['order_date', 'category', 'channel', 'customer_region', 'orders', 'customers', 'net_revenue_usd'],
  row_conditions: [
    'orders = completed_orders + returned_orders + cancelled_orders',
    'customers between 1 and orders',
    'net_revenue_usd >= 0 and gross_amount_usd >= 0',
  ],
});

partition_assertions({
  dataset: 'warehouse',
  table: 'bi_customer_sales_daily',
  partition_column: 'order_date',
  scope: 'affected_dates',
  tags: ['warehouse', 'bi', 'sales'],
  unique_key: ['customer_id', 'order_date'],
  non_null: ['order_date', 'orders', 'completed_orders', 'revenue_cents'],
  row_conditions: ['completed_orders between 0 and orders', 'orders >= 1', 'revenue_cents >= 0'],
});

partition_assertions({
  dataset: 'warehouse',
  table: 'bi_customer_category_sales_daily',
  partition_column: 'order_date',
  scope: 'affected_dates',
  tags: ['warehouse', 'bi', 'sales'],
  unique_key: ['customer_id', 'order_date', 'category'],
  non_null: ['order_date', 'orders', 'completed_orders', 'completed_units', 'revenue_cents'],
  row_conditions: [
    'completed_orders between 0 and orders',
    'orders >= 1',
    'completed_units >= 0 and revenue_cents >= 0',
  ],
});

partition_assertions({
  dataset: 'warehouse',
  table: 'bi_product_sales_daily',
  partition_column: 'order_date',
  scope: 'affected_dates',
  tags: ['warehouse', 'bi', 'sales'],
  unique_key: ['product_id', 'order_date'],
  non_null: ['order_date', 'orders', 'completed_orders', 'completed_units', 'revenue_cents'],
  row_conditions: [
    'completed_orders between 0 and orders',
    'orders >= 1',
    'completed_units >= 0 and revenue_cents >= 0',
  ],
});

partition_assertions({
  dataset: 'warehouse',
  table: 'bi_funnel_daily',
  partition_column: 'session_date',
  scope: 'affected_dates',
  tags: ['warehouse', 'bi', 'clickstream'],
  unique_key: ['session_date', 'device', 'referrer'],
  non_null: ['session_date', 'device', 'referrer', 'sessions'],
  row_conditions: [
    'sessions >= greatest(product_view_sessions, cart_sessions, checkout_sessions, purchase_sessions)',
    'known_customer_sessions <= sessions',
    'avg_duration_seconds >= 0',
  ],
});
