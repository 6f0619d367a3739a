/**
 * The bronze sources as DuckDB views over the lake's files, from the same description the BigQuery
 * external tables use (`dataform/includes/bronze_sources.json`).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** One bronze source, as `bronze_sources.json` describes it. */
export interface BronzeSourceSpec {
  name: string;
  format: 'parquet' | 'jsonl';
  /** Lake prefix, e.g. `bronze/sales`. */
  path: string;
  description?: string;
  /** The record's columns, all read as text (staging parses them). */
  columns: string[];
}

/** The description file. */
export interface BronzeSourcesDescription {
  dataset: string;
  partition_column: string;
  sources: BronzeSourceSpec[];
}

/** Read `includes/bronze_sources.json` of a Dataform project. */
export function readBronzeSources(projectDir: string): BronzeSourcesDescription {
  const description = JSON.parse(readFileSync(join(projectDir, 'includes', 'bronze_sources.json'), 'utf8')) as BronzeSourcesDescription;
  for (const source of description.sources) {
    if (source.format !== 'parquet' && source.format !== 'jsonl') throw new Error(`bronze source ${source.name}: unknown format ${String(source.format)}`);
    for (const column of [...source.columns, description.partition_column]) {
      if (!/^[a-z_][a-z0-9_]*$/.test(column)) throw new Error(`bronze source ${source.name}: column name "${column}" is not a plain identifier`);
    }
  }
  return description;
}

function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** Whether any partition file of a source exists under the lake root. */
export function hasPartitionFiles(lakeRoot: string, source: BronzeSourceSpec, partitionColumn: string): boolean {
  const root = join(lakeRoot, source.path);
  if (!existsSync(root)) return false;
  const extension = `.${source.format}`;
  return readdirSync(root).some(
    (entry) => entry.startsWith(`${partitionColumn}=`) && readdirSync(join(root, entry)).some((file) => file.startsWith('part-') && file.endsWith(extension)),
  );
}

/** The glob of a source's partition files, `<lake>/<path>/<column>=*\/part-*.<ext>`. */
export function partitionGlob(lakeRoot: string, source: BronzeSourceSpec, partitionColumn: string): string {
  return `${join(lakeRoot, source.path)}/${partitionColumn}=*/part-*.${source.format}`;
}

/**
 * The DuckDB reader of a source: `read_parquet` with hive partitioning (every column cast to text,
 * columns no file has read as null), or `read_json` with explicit text columns (numbers, strings and
 * nulls all load, as in the BigQuery external table). The partition column is a DATE; filters on it
 * prune files.
 */
export function sourceReaderSql(lakeRoot: string, source: BronzeSourceSpec, partitionColumn: string, parquetColumns?: ReadonlySet<string>): string {
  const glob = literal(partitionGlob(lakeRoot, source, partitionColumn));
  const hive = `hive_partitioning = true, hive_types = {'${partitionColumn}': 'DATE'}`;
  if (source.format === 'parquet') {
    const columns = source.columns.map((column) => (parquetColumns && !parquetColumns.has(column) ? `cast(null as varchar) as ${column}` : `cast(${column} as varchar) as ${column}`));
    return `select ${columns.join(', ')}, ${partitionColumn} from read_parquet(${glob}, ${hive}, union_by_name = true)`;
  }
  const struct = source.columns.map((column) => `${column}: 'VARCHAR'`).join(', ');
  return `select ${source.columns.join(', ')}, ${partitionColumn} from read_json(${glob}, format = 'newline_delimited', columns = {${struct}}, ${hive})`;
}

/** An empty relation with a source's columns, for a source with no files yet. */
export function emptySourceSql(source: BronzeSourceSpec, partitionColumn: string): string {
  return `select ${source.columns.map((column) => `cast(null as varchar) as ${column}`).join(', ')}, cast(null as date) as ${partitionColumn} where false`;
}
