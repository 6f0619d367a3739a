// Assertions over the partitions a run wrote. Dataform's built-in `assertions:` scan the whole table
// on every run, so their cost grows with history; an incremental table is checked where it changed:
// the run dates (staging) or the affected dates (gold, see run.affected_dates). Partitions the run
// did not touch were checked when they were written.
//
// partition_assertions({ dataset, table, partition_column, scope, unique_key, unique_in_table,
//   non_null, row_conditions }) declares, named like Dataform's own:
// - <dataset>_<table>_assertions_uniqueKey: duplicate keys within the rewritten partitions;
// - <dataset>_<table>_assertions_uniqueKeyInTable (when unique_in_table): rewritten keys that also
//   appear elsewhere in the table (for keys that do not contain the partition column);
// - <dataset>_<table>_assertions_rowConditions: rows of the rewritten partitions that break a row
//   condition or have a null where non_null says there must be none.
const run = require('./run.js');

function scope_filter(ctx, scope, column) {
  if (scope === 'run_dates') return `${column} in (${run.dates()})`;
  if (scope === 'affected_dates') return run.in_affected(column, ctx.ref('stg_pipeline__run_dates'));
  throw new Error(`unknown assertion scope "${scope}"`);
}

function quote_condition(condition) {
  return `'${condition.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function partition_assertions(spec) {
  const name = `${spec.dataset}_${spec.table}_assertions`;
  const keys = spec.unique_key.join(', ');
  const rows = (ctx) => `select * from ${ctx.ref(spec.table)}
  where ${scope_filter(ctx, spec.scope, spec.partition_column)}`;
  const described = (what) =>
    `${what} of ${spec.dataset}.${spec.table}, in the partitions this run wrote (${spec.scope.replace('_', ' ')}).`;
  const config = { tags: ['assertion', ...(spec.tags || [])] };

  assert(`${name}_uniqueKey`, { ...config, description: described(`Unique (${keys})`) }).query(
    (ctx) => `with partition_rows as (
  ${rows(ctx)}
)

select ${keys}, count(*) as index_row_count
from partition_rows
group by ${keys}
having count(*) > 1`,
  );

  if (spec.unique_in_table) {
    if (spec.unique_key.length !== 1) throw new Error(`${name}: unique_in_table needs a one-column key`);
    assert(`${name}_uniqueKeyInTable`, {
      ...config,
      description: described(`Keys (${keys}) not repeated elsewhere in the table`),
    }).query(
      (ctx) => `with rewritten_keys as (
  select distinct ${keys} from (${rows(ctx)})
)

select ${keys}, count(*) as index_row_count
from ${ctx.ref(spec.table)}
where ${keys} in (select ${keys} from rewritten_keys)
group by ${keys}
having count(*) > 1`,
    );
  }

  // One scan: a failing row is reported once, with the first condition it breaks.
  const conditions = [...spec.non_null.map((column) => `${column} is not null`), ...(spec.row_conditions || [])];
  assert(`${name}_rowConditions`, { ...config, description: described('Non-null columns and row conditions') }).query(
    (ctx) => `with partition_rows as (
  ${rows(ctx)}
)

select
  case
${conditions.map((condition) => `    when not (${condition}) then ${quote_condition(condition)}`).join('\n')}
  end as failing_row_condition,
  ${keys}
from partition_rows
where not (
${conditions.map((condition) => `  (${condition})`).join('\n  and ')}
)`,
  );
}

module.exports = { partition_assertions };
