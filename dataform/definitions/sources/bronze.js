// The three bronze sources. On BigQuery each is an external table over the lake's hive-partitioned
// files (created or replaced on every run: metadata only, no data is copied). The local runner
// recognises these actions by their bronze target and creates DuckDB views over the same files,
// from the same description (includes/bronze_sources.json).
const bronze = require('includes/bronze');

for (const source of bronze.sources) {
  operate(source.name, {
    dataset: bronze.dataset,
    hasOutput: true,
    tags: ['bronze'],
    description: `${source.description} Grain: one row per bronze record, as landed (duplicates and dirty rows included). Format: ${source.format} under ${source.path}/dt=YYYY-MM-DD/.`,
  }).queries((ctx) => bronze.external_table_ddl(ctx.self(), source.name));
}
