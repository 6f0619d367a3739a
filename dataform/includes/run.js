// The run dates of an invocation, from the `run_dates` var (space-separated YYYY-MM-DD), and the
// partitions they affect. Every use of the var goes through dates(), which renders a list of date
// literals, so a compiled graph depends on the var only through that list.
const { LOOKBACK_DAYS } = require("./constants.js");

const DATE = /^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$/;

function list() {
  const raw = String(dataform.projectConfig.vars.run_dates || "").trim();
  const values = raw.split(/\s+/).filter((value) => value.length > 0);
  if (values.length === 0) throw new Error("var run_dates is required: space-separated dates YYYY-MM-DD");
  for (const value of values) {
    const parsed = new Date(`${value}T00:00:00Z`);
    if (!DATE.test(value) || Number.isNaN(parsed.getTime()) || parsed.toISOString().slice(0, 10) !== value) {
      throw new Error(`var run_dates: "${value}" is not a valid date (YYYY-MM-DD)`);
    }
  }
  return [...new Set(values)].sort();
}

// The run dates as a list of date literals: `date '2026-01-30', date '2026-01-31'`. Literals (not a
// subquery) so BigQuery and DuckDB prune the bronze partitions they do not need.
function dates() {
  return list().map((value) => `date '${value}'`).join(", ");
}

// The gold partitions this invocation must rebuild: every run date built so far (including this
// invocation's) that lies within LOOKBACK_DAYS after one of this invocation's run dates. In a daily
// run that is just the run date; when an earlier date arrives after later ones were built, the later
// partitions that read it are rebuilt too, so the result does not depend on the order of arrival.
function affected_dates(run_dates_table) {
  return `select built.run_date
    from ${run_dates_table} as built
    where exists (
      select 1
      from unnest([${dates()}]) as changed
      where date_diff(built.run_date, changed, day) between 0 and ${LOOKBACK_DAYS - 1}
    )`;
}

module.exports = { list, dates, affected_dates };
