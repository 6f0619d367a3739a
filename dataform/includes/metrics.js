// Business metrics, defined once. Every model (and so the dashboard, which reads them) aggregates
// orders with these expressions; a change here is a full-refresh (backfill) event.

// Orders that count as sold: completed ones (returned and cancelled orders do not).
const COMPLETED = 'is_completed';

// Revenue of a group of fct_sales rows, in integer cents: the net amount of its completed orders,
// each order rounded to a cent, so any range of days adds up exactly.
function revenueCents() {
  return `sum(if(${COMPLETED}, cast(round(net_amount_usd * 100) as int64), 0))`;
}

// The same revenue in US dollars, unrounded (for reporting sums, not for adding ranges exactly).
function revenueUsd() {
  return `sum(if(${COMPLETED}, net_amount_usd, 0))`;
}

// Completed orders of a group of fct_sales rows.
function completedOrders() {
  return `countif(${COMPLETED})`;
}

// Items sold in a group of fct_sales rows: the quantity of its completed orders.
function completedUnits() {
  return `sum(if(${COMPLETED}, quantity, 0))`;
}

module.exports = { revenueCents, revenueUsd, completedOrders, completedUnits };
