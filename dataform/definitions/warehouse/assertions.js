// The checks of the incremental gold tables, over the partitions the run rewrote: the run dates and
// the later dates they affect (includes/checks.js). Each table's grain is its unique key.
const { partition_assertions } = require("includes/checks");

partition_assertions({
  dataset: "warehouse",
  table: "fct_sales",
  partition_column: "run_date",
  scope: "affected_dates",
  tags: ["warehouse", "sales"],
  unique_key: ["order_id"],
  unique_in_table: true,
  non_null: ["order_id", "customer_id", "ordered_at", "order_date", "product_id", "quantity", "unit_price_usd", "discount_pct", "gross_amount_usd", "net_amount_usd", "payment_method", "channel", "status", "is_completed", "run_date"],
  row_conditions: [
    "quantity >= 1",
    "net_amount_usd >= 0 and gross_amount_usd >= 0 and unit_price_usd >= 0",
    "status in ('completed', 'returned', 'cancelled')",
    "is_completed = (status = 'completed')",
    "order_date <= run_date",
  ],
});

partition_assertions({
  dataset: "warehouse",
  table: "fct_sessions",
  partition_column: "run_date",
  scope: "affected_dates",
  tags: ["warehouse", "clickstream"],
  unique_key: ["session_id"],
  unique_in_table: true,
  non_null: ["session_id", "anonymous_id", "session_date", "started_at", "device", "referrer", "events", "duration_ms", "run_date"],
  row_conditions: [
    "events >= 1",
    "events = page_views + searches + product_views + add_to_carts + checkouts + purchases",
    "duration_ms >= 0",
    "reached_purchase = (purchases > 0)",
    "session_date <= run_date",
  ],
});

partition_assertions({
  dataset: "warehouse",
  table: "fct_click_features",
  partition_column: "activity_date",
  scope: "affected_dates",
  tags: ["warehouse", "clickstream"],
  unique_key: ["customer_id", "activity_date"],
  non_null: ["customer_id", "activity_date", "sessions", "page_views", "searches", "product_views", "add_to_carts", "checkouts", "purchases", "duration_ms"],
  row_conditions: ["sessions >= 1", "page_views >= 0 and searches >= 0 and product_views >= 0 and add_to_carts >= 0 and checkouts >= 0 and purchases >= 0", "duration_ms >= 0"],
});

partition_assertions({
  dataset: "warehouse",
  table: "fct_customer_features",
  partition_column: "snapshot_date",
  scope: "affected_dates",
  tags: ["warehouse", "features"],
  unique_key: ["customer_id", "snapshot_date"],
  non_null: ["customer_id", "snapshot_date", "days_since_last_order", "tenure_days", "orders_7d", "orders_30d", "orders_90d", "revenue_usd_90d", "sessions_30d", "days_since_last_session"],
  row_conditions: [
    "days_since_last_order between 0 and 89",
    "orders_90d >= orders_30d and orders_30d >= orders_7d and orders_90d >= 1",
    "sessions_90d >= sessions_30d and sessions_30d >= sessions_7d",
    "days_since_last_session between 0 and 90",
    "tenure_days >= 0",
    "returns_90d + cancellations_90d <= orders_90d",
  ],
});

partition_assertions({
  dataset: "warehouse",
  table: "fct_customer_days",
  partition_column: "run_date",
  scope: "affected_dates",
  tags: ["warehouse", "sales", "features"],
  unique_key: ["customer_id", "run_date"],
  non_null: ["customer_id", "run_date", "orders", "completed_orders", "returns", "cancellations", "revenue_cents", "discount_bp_sum", "products", "first_order_date", "last_order_date", "customer_region", "customer_segment", "acquisition_channel"],
  row_conditions: ["orders >= 1", "completed_orders + returns + cancellations = orders", "revenue_cents >= 0", "last_order_date <= run_date"],
});
