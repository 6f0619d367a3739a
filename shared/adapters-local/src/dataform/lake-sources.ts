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
  const description = JSON.parse(
    readFileSync(join(projectDir, 'includes', 'bronze_sources.json'), 'utf8'),
  ) as BronzeSourcesDescription;
  for (const source of description.sources) {
    if (source.format !== 'parquet' && source.format !== 'jsonl')
      throw new Error(`bronze source ${source.name}: unknown format ${String(source.format)}`);
    for (const column of [...source.columns, description.partition_column]) {
      if (!/^[a-z_][a-z0-9_]*$/.test(column))
        throw new Error(`bronze source ${source.name}: column name "${column}" is not a plain identifier`);
    }
  }
  return description;
}

function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/**
 * The globs of a source's partition files that exist: every partition
 * (`<lake>/<path>/<column>=*\/part-*.<ext>`), or only those of the given dates. Empty when there
 * are none.
 */
export function partitionGlobs(
  lakeRoot: string,
  source: BronzeSourceSpec,
  partitionColumn: string,
  dates?: readonly string[],
): string[] {
  const root = join(lakeRoot, source.path);
  if (!existsSync(root)) return [];
  const extension = `.${source.format}`;
  const hasFiles = (entry: string) =>
    existsSync(join(root, entry)) &&
    readdirSync(join(root, entry)).some((file) => file.startsWith('part-') && file.endsWith(extension));
  if (dates) {
    return dates
      .filter((date) => hasFiles(`${partitionColumn}=${date}`))
      .map((date) => `${join(root, `${partitionColumn}=${date}`)}/part-*${extension}`);
  }
  return readdirSync(root).some((entry) => entry.startsWith(`${partitionColumn}=`) && hasFiles(entry))
    ? [`${root}/${partitionColumn}=*/part-*${extension}`]
    : [];
}

/** The DuckDB list literal of file globs. */
export function globList(globs: readonly string[]): string {
  return `[${globs.map(literal).join(', ')}]`;
}

/**
 * The DuckDB reader of a source over the given file globs: `read_parquet` with hive partitioning
 * (every column cast to text, columns no file has read as null), or `read_json` with explicit text
 * columns (numbers, strings and nulls all load, as in the BigQuery external table). The partition
 * column is a DATE; filters on it prune files.
 */
export function sourceReaderSql(
  globs: readonly string[],
  source: BronzeSourceSpec,
  partitionColumn: string,
  parquetColumns?: ReadonlySet<string>,
): string {
  const files = globList(globs);
  const hive = `hive_partitioning = true, hive_types = {'${partitionColumn}': 'DATE'}`;
  if (source.format === 'parquet') {
    const columns = source.columns.map((column) =>
      parquetColumns && !parquetColumns.has(column)
        ? `cast(null as varchar) as ${column}`
        : `cast(${column} as varchar) as ${column}`,
    );
    return `select ${columns.join(', ')}, ${partitionColumn} from read_parquet(${files}, ${hive}, union_by_name = true)`;
  }
  const struct = source.columns.map((column) => `${column}: 'VARCHAR'`).join(', ');
  return `select ${source.columns.join(', ')}, ${partitionColumn} from read_json(${files}, format = 'newline_delimited', columns = {${struct}}, ${hive})`;
}

/** An empty relation with a source's columns, for a source with no files yet. */
export function emptySourceSql(source: BronzeSourceSpec, partitionColumn: string): string {
  return `select ${source.columns.map((column) => `cast(null as varchar) as ${column}`).join(', ')}, cast(null as date) as ${partitionColumn} where false`;
}
