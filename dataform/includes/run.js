// The run dates of an invocation and the partitions they affect.
//
// Vars: `run_dates` (space-separated YYYY-MM-DD, required) and, optionally, `run_date_first` and
// `run_date_last`: the earliest and latest of them (computed from run_dates when absent). Every use
// of a var goes through dates(), first() or last(), which render date literals, so a compiled graph
// depends on the vars only through those literals (the local runner relies on it to reuse a
// compilation; see shared/adapters-local/src/dataform/dataform-compiler.adapter.ts).
const { LOOKBACK_DAYS } = require('./constants.js');

const DATE = /^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$/;

function checked(name, value) {
  const parsed = new Date(`${value}T00:00:00Z`);
  if (!DATE.test(value) || Number.isNaN(parsed.getTime()) || parsed.toISOString().slice(0, 10) !== value) {
    throw new Error(`var ${name}: "${value}" is not a valid date (YYYY-MM-DD)`);
  }
  return value;
}

function list() {
  const raw = String(dataform.projectConfig.vars.run_dates || '').trim();
  const values = raw.split(/\s+/).filter((value) => value.length > 0);
  if (values.length === 0) throw new Error('var run_dates is required: space-separated dates YYYY-MM-DD');
  return [...new Set(values.map((value) => checked('run_dates', value)))].sort();
}

// The run dates as a list of date literals: `date '2026-01-30', date '2026-01-31'`. Literals (not a
// subquery) so BigQuery and DuckDB prune the partitions they do not need. Always used inside
// parentheses or brackets.
function dates() {
  return list()
    .map((value) => `date '${value}'`)
    .join(', ');
}

// The earliest run date, as a date literal.
function first() {
  const value = dataform.projectConfig.vars.run_date_first;
  return `date '${value ? checked('run_date_first', String(value)) : list()[0]}'`;
}

// The latest run date, as a date literal.
function last() {
  const value = dataform.projectConfig.vars.run_date_last;
  return `date '${value ? checked('run_date_last', String(value)) : list()[list().length - 1]}'`;
}

// A constant range that holds every partition the run may rewrite: from the first run date to
// LOOKBACK_DAYS - 1 days after the last. Added to filters so engines prune by constants.
function affected_range(column) {
  return `${column} between ${first()} and date_add(${last()}, interval ${LOOKBACK_DAYS - 1} day)`;
}

// A constant range that holds every partition a rewritten partition reads: from LOOKBACK_DAYS - 1
// days before the first run date to LOOKBACK_DAYS - 1 days after the last.
function lookback_range(column) {
  return `${column} between date_sub(${first()}, interval ${LOOKBACK_DAYS - 1} day) and date_add(${last()}, interval ${LOOKBACK_DAYS - 1} day)`;
}

// The gold partitions this invocation must rebuild: every run date built so far (including this
// invocation's) that lies within LOOKBACK_DAYS after one of this invocation's run dates. In a daily
// run that is just the run date; when an earlier date arrives after later ones were built, the later
// partitions that read it are rebuilt too, so the result does not depend on the order of arrival.
function affected_dates(run_dates_table) {
  return `select built.run_date
    from ${run_dates_table} as built
    where ${affected_range('built.run_date')}
      and exists (
        select 1
        from unnest([${dates()}]) as changed
        where date_diff(built.run_date, changed, day) between 0 and ${LOOKBACK_DAYS - 1}
      )`;
}

// `<column> in (<affected dates>)`, with the constant range that lets engines prune.
function in_affected(column, run_dates_table) {
  return `${column} in (${affected_dates(run_dates_table)})
    and ${affected_range(column)}`;
}

module.exports = { list, dates, first, last, affected_range, lookback_range, affected_dates, in_affected };
