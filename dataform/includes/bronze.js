// The bronze sources, described once in bronze_sources.json (name, format, path, columns) and read
// both here (BigQuery external tables) and by the local runner (DuckDB views over the lake files).
const description = require('./bronze_sources.json');

const FORMATS = {
  parquet: { bigquery: 'PARQUET', extension: 'parquet' },
  jsonl: { bigquery: 'NEWLINE_DELIMITED_JSON', extension: 'jsonl' },
};

function source(name) {
  const found = description.sources.find((candidate) => candidate.name === name);
  if (!found) throw new Error(`unknown bronze source "${name}"`);
  return found;
}

function lake_uri() {
  const uri = String(dataform.projectConfig.vars.lake_uri || '').replace(/\/+$/, '');
  if (!/^gs:\/\/[a-z0-9._-]+(\/[A-Za-z0-9._\/-]*)?$/.test(uri))
    throw new Error(`var lake_uri must be a gs:// URI (got "${uri}")`);
  return uri;
}

// A hive-partitioned external table over bronze/<source>/dt=YYYY-MM-DD/part-*.<ext>. JSONL columns
// are declared STRING so numbers, strings and nulls all load and staging parses them; Parquet files
// describe their own columns and staging casts them to STRING first, so both read the same way.
function external_table_ddl(self, name) {
  const spec = source(name);
  const format = FORMATS[spec.format];
  const prefix = `${lake_uri()}/${spec.path}`;
  const columns =
    spec.format === 'jsonl' ? ` (\n${spec.columns.map((column) => `  ${column} string`).join(',\n')}\n)` : '';
  return `create or replace external table ${self}${columns}
with partition columns (${description.partition_column} date)
options (
  format = '${format.bigquery}',
  uris = ['${prefix}/*.${format.extension}'],
  hive_partition_uri_prefix = '${prefix}',
  require_hive_partition_filter = false${spec.format === 'jsonl' ? ',\n  ignore_unknown_values = true' : ''}
)`;
}

// Every raw column as trimmed STRING, empty strings as null: the first step of each staging model.
function raw_columns(name) {
  return source(name)
    .columns.map((column) => `nullif(trim(cast(${column} as string)), '') as ${column}`)
    .join(',\n    ');
}

module.exports = {
  dataset: description.dataset,
  partition_column: description.partition_column,
  sources: description.sources,
  source,
  external_table_ddl,
  raw_columns,
};
