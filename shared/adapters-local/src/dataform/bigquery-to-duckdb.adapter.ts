/**
 * Translation of the project's BigQuery SQL to DuckDB: `@polyglot-sql/sdk` does the dialect work,
 * and a few small rewrites, each documented and tested (shared/test/dataform/translation.test.ts),
 * patch what it gets wrong or leaves out:
 *
 * - R0 targets: Dataform writes `` `project.dataset.table` ``; in DuckDB the dataset is a schema of
 *   the database file's catalog: `<catalog>.dataset.table`. The catalog is written as the
 *   placeholder {@link CATALOG_PLACEHOLDER} and bound when the statement runs, because a bare
 *   `warehouse.fct_sales` is ambiguous in a file named warehouse.duckdb (catalog "warehouse").
 *   (Before translation.)
 * - R1 `SAFE.PARSE_TIMESTAMP(fmt, x)` / `SAFE.PARSE_DATE(fmt, x)`: polyglot leaves the SAFE prefix
 *   as is (DuckDB has no such schema); they become `TRY_STRPTIME(x, fmt)` (and a DATE cast).
 *   Any other `SAFE.` function is refused.
 * - R2 `REGEXP_CONTAINS` is a partial match, but polyglot emits `REGEXP_FULL_MATCH`; it becomes
 *   `REGEXP_MATCHES`, DuckDB's partial match.
 * - R3 BigQuery `TIMESTAMP` is an instant; polyglot maps it to DuckDB `TIMESTAMP` (naive), whose
 *   cast from a string drops a UTC offset ("10:00+02:00" reads as 10:00). It becomes
 *   `TIMESTAMPTZ`, read in the session time zone the runner pins to UTC. Statements that use
 *   BigQuery `DATETIME` (which must stay naive) are refused rather than guessed at.
 * - R4 BigQuery `NUMERIC` is DECIMAL(38, 9); polyglot emits DuckDB's bare `DECIMAL` (18, 3), which
 *   rounds to three decimals (and, under ROUND, its explicit `DECIMAL(18, 3)`). Both become
 *   `DECIMAL(38, 9)`. Parameterised `NUMERIC(p, s)` loses its parameters in polyglot and
 *   `BIGNUMERIC` has no DuckDB equivalent: both are refused.
 * - R5 (in the runner) `BEGIN TRANSACTION` / `COMMIT TRANSACTION` pre/post operations, which make
 *   the BigQuery script atomic, are dropped: the runner wraps each action in its own transaction.
 * - R6 query parameters: polyglot reads `@name` as DuckDB's `@` (absolute value) operator. Each
 *   `@name` and `?` becomes a placeholder identifier before translation and, after it, the SQL the
 *   caller gives for that parameter; without a caller's binding they are refused, as are `@@`
 *   system variables. (Before and after translation.)
 * - R7 DuckDB syntax that GoogleSQL does not have, which polyglot would carry through rather than
 *   refuse, is refused, so SQL that runs here also parses on BigQuery: the `::` cast, the
 *   aggregate `FILTER (WHERE ...)` clause, `UNION` without `ALL` or `DISTINCT`, and DuckDB's list
 *   functions (`list(...)`, `list_transform(...)`, ...). (Before translation.)
 */
import type * as PolyglotSdk from '@polyglot-sql/sdk';

type Polyglot = typeof PolyglotSdk;
let polyglot: Polyglot | undefined;

/**
 * Load the transpiler, once per process. It is imported on demand because it weighs about 85 MB
 * resident (WebAssembly) and only the transformer's DuckDB runner needs it, while every service
 * imports this package.
 */
export async function loadBigQueryTranslator(): Promise<void> {
  polyglot ??= await import('@polyglot-sql/sdk');
}

/** Why a statement could not be translated. */
export class TranslationError extends Error {
  override readonly name = 'TranslationError';
}

type Segment = { kind: 'code' | 'string' | 'quoted' | 'comment'; text: string };

/**
 * Split SQL into code, string literals, quoted identifiers and comments, so rewrites only touch
 * code. Understands BigQuery's and DuckDB's quoting: '...', "...", `...`, r'...', triple quotes,
 * -- and /* comments.
 */
export function segmentSql(sql: string, dialect: 'bigquery' | 'duckdb'): Segment[] {
  const segments: Segment[] = [];
  let code = '';
  let index = 0;
  const flush = () => {
    if (code) segments.push({ kind: 'code', text: code });
    code = '';
  };
  while (index < sql.length) {
    const char = sql[index]!;
    const next = sql[index + 1];
    if (char === '-' && next === '-') {
      const end = sql.indexOf('\n', index);
      flush();
      segments.push({ kind: 'comment', text: sql.slice(index, end < 0 ? sql.length : end) });
      index = end < 0 ? sql.length : end;
      continue;
    }
    if (char === '/' && next === '*') {
      const end = sql.indexOf('*/', index + 2);
      flush();
      segments.push({ kind: 'comment', text: sql.slice(index, end < 0 ? sql.length : end + 2) });
      index = end < 0 ? sql.length : end + 2;
      continue;
    }
    const quote = char === "'" || char === '"' || char === '`' ? char : undefined;
    if (quote) {
      const bigquery = dialect === 'bigquery';
      const raw = bigquery && /[rR]$/.test(code) && !/[A-Za-z0-9_][rR]$/.test(code);
      const triple = bigquery && quote !== '`' && sql.startsWith(quote.repeat(3), index);
      const delimiter = triple ? quote.repeat(3) : quote;
      let cursor = index + delimiter.length;
      for (;;) {
        if (cursor >= sql.length) throw new TranslationError(`unterminated ${delimiter} quote`);
        if (bigquery && !raw && sql[cursor] === '\\') {
          cursor += 2;
          continue;
        }
        if (sql.startsWith(delimiter, cursor)) {
          // DuckDB (standard SQL) escapes a quote by doubling it.
          if (!bigquery && sql[cursor + 1] === quote) {
            cursor += 2;
            continue;
          }
          cursor += delimiter.length;
          break;
        }
        cursor += 1;
      }
      flush();
      const kind = quote === '`' || (!bigquery && quote === '"') ? 'quoted' : 'string';
      segments.push({ kind, text: sql.slice(index, cursor) });
      index = cursor;
      continue;
    }
    code += char;
    index += 1;
  }
  flush();
  return segments;
}

function joinSegments(segments: readonly Segment[]): string {
  return segments.map((segment) => segment.text).join('');
}

/** Apply a rewrite to the code segments only. */
function rewriteCode(sql: string, dialect: 'bigquery' | 'duckdb', rewrite: (code: string) => string): string {
  return joinSegments(
    segmentSql(sql, dialect).map((segment) =>
      segment.kind === 'code' ? { ...segment, text: rewrite(segment.text) } : segment,
    ),
  );
}

/** The identifier standing for the DuckDB catalog in translated SQL (see R0). */
export const CATALOG_PLACEHOLDER = '__mlops_catalog__';

/** R0: `` `project.dataset.table` `` (and `` `dataset.table` ``) to `<catalog>.dataset.table`. */
export function mapTargets(sql: string): string {
  return joinSegments(
    segmentSql(sql, 'bigquery').map((segment) => {
      if (segment.kind !== 'quoted') return segment;
      const parts = segment.text.slice(1, -1).split('.');
      if (parts.length < 2 || parts.length > 3) return segment;
      const [dataset, table] = parts.slice(-2) as [string, string];
      const name = (part: string) => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(part) ? part : `\`${part}\``);
      return { kind: 'code' as const, text: `${CATALOG_PLACEHOLDER}.${name(dataset)}.${name(table)}` };
    }),
  );
}

/** Refuse BigQuery constructs the translation cannot carry faithfully. */
function refuseUnsupported(sql: string): void {
  const code = segmentSql(sql, 'bigquery')
    .filter((segment) => segment.kind === 'code')
    .map((segment) => segment.text)
    .join(' ');
  if (/\bbig(numeric|decimal)\b/i.test(code)) throw new TranslationError('BIGNUMERIC has no DuckDB equivalent');
  if (/\b(numeric|decimal)\s*\(/i.test(code))
    throw new TranslationError('parameterised NUMERIC(p, s) is not translated faithfully; use NUMERIC and ROUND');
  if (/::/.test(code)) throw new TranslationError('the :: cast is not GoogleSQL; use cast(x as type)');
  if (/\bfilter\s*\(\s*where\b/i.test(code))
    throw new TranslationError('FILTER (WHERE ...) is not GoogleSQL; use countif(...) or sum(if(...))');
  if (/\bunion(?!\s+(all|distinct)\b)/i.test(code))
    throw new TranslationError('GoogleSQL needs UNION ALL or UNION DISTINCT');
  const list = /\b(list(?:_\w+)?)\s*\(/i.exec(code);
  if (list) throw new TranslationError(`${list[1]}() is a DuckDB list function, not GoogleSQL; use array functions`);
  if (/\bdatetime\b/i.test(code))
    throw new TranslationError(
      'DATETIME is not supported (TIMESTAMP maps to TIMESTAMPTZ; a naive DATETIME would be read as UTC)',
    );
}

/** The arguments of the call whose "(" is at `open`, split at top-level commas, and the index after ")". */
function callArguments(sql: string, open: number): { args: string[]; end: number } {
  const args: string[] = [];
  let depth = 0;
  let current = '';
  const segments = segmentSql(sql.slice(open), 'duckdb');
  let consumed = open;
  for (const segment of segments) {
    if (segment.kind !== 'code') {
      current += segment.text;
      consumed += segment.text.length;
      continue;
    }
    for (const char of segment.text) {
      consumed += 1;
      if (char === '(') {
        depth += 1;
        if (depth === 1) continue;
      } else if (char === ')') {
        depth -= 1;
        if (depth === 0) {
          args.push(current.trim());
          return { args, end: consumed };
        }
      } else if (char === ',' && depth === 1) {
        args.push(current.trim());
        current = '';
        continue;
      }
      current += char;
    }
  }
  throw new TranslationError('unbalanced parentheses');
}

/** R1: SAFE.PARSE_TIMESTAMP / SAFE.PARSE_DATE to TRY_STRPTIME; refuse other SAFE. functions. */
export function rewriteSafeFunctions(sql: string): string {
  let out = sql;
  for (;;) {
    const segments = segmentSql(out, 'duckdb');
    let offset = 0;
    let found: { at: number; name: string; open: number } | undefined;
    for (const segment of segments) {
      if (segment.kind === 'code') {
        const match = /\bSAFE\.([A-Za-z_]+)\s*\(/i.exec(segment.text);
        if (match) {
          found = {
            at: offset + match.index,
            name: match[1]!.toLowerCase(),
            open: offset + match.index + match[0].length - 1,
          };
          break;
        }
      }
      offset += segment.text.length;
    }
    if (!found) return out;
    const { args, end } = callArguments(out, found.open);
    if ((found.name !== 'parse_timestamp' && found.name !== 'parse_date') || args.length !== 2) {
      throw new TranslationError(`SAFE.${found.name.toUpperCase()} has no DuckDB translation`);
    }
    const [format, value] = args as [string, string];
    const parsed = `TRY_STRPTIME(${value}, ${format})`;
    out = out.slice(0, found.at) + (found.name === 'parse_date' ? `CAST(${parsed} AS DATE)` : parsed) + out.slice(end);
  }
}

/** R2: REGEXP_FULL_MATCH (polyglot's REGEXP_CONTAINS) to REGEXP_MATCHES. */
export function rewriteRegexpContains(sql: string): string {
  return rewriteCode(sql, 'duckdb', (code) => code.replace(/\bREGEXP_FULL_MATCH\s*\(/gi, 'REGEXP_MATCHES('));
}

/** R3: the TIMESTAMP type to TIMESTAMPTZ (not the TIMESTAMP '...' literal, not functions). */
export function rewriteTimestampType(sql: string): string {
  const segments = segmentSql(sql, 'duckdb');
  return joinSegments(
    segments.map((segment, index) => {
      if (segment.kind !== 'code') return segment;
      const nextIsString = segments[index + 1]?.kind === 'string';
      const text = segment.text.replace(/(?<![.\w])TIMESTAMP(?![\w])/gi, (match: string, position: number) => {
        const rest = segment.text.slice(position + match.length);
        if (/^\s*\(/.test(rest)) return match; // a function call
        if (/^\s*$/.test(rest) && nextIsString) return match; // TIMESTAMP '2026-01-01 ...' literal
        return 'TIMESTAMPTZ';
      });
      return { ...segment, text };
    }),
  );
}

/** R4: DuckDB DECIMAL (18, 3) from BigQuery NUMERIC to DECIMAL(38, 9). */
export function rewriteNumeric(sql: string): string {
  return rewriteCode(sql, 'duckdb', (code) =>
    code
      .replace(/\bDECIMAL\s*\(\s*18\s*,\s*3\s*\)/gi, 'DECIMAL(38, 9)')
      .replace(/\bDECIMAL\b(?!\s*\()/gi, 'DECIMAL(38, 9)'),
  );
}

/** A query parameter in BigQuery SQL: named (`@name`) or positional (the n-th `?`, from 1). */
export type ParameterReference = { name: string } | { position: number };

/** Options of {@link translateBigQueryToDuckDb}. */
export interface TranslateOptions {
  /** The DuckDB SQL that stands for a parameter (R6); without it, a parameter is refused. */
  parameter?: (reference: ParameterReference) => string;
}

const PARAMETER_PLACEHOLDER = /^__mlops_param_(\d+)__$/;

/** R6 before translation: each `@name` and `?` to a placeholder identifier, in order. */
function markParameters(sql: string, references: ParameterReference[]): string {
  let position = 0;
  return rewriteCode(sql, 'bigquery', (code) =>
    code.replace(/@@([A-Za-z_][A-Za-z0-9_.]*)|@([A-Za-z_][A-Za-z0-9_]*)|\?|@/g, (match, system, name) => {
      if (system !== undefined) throw new TranslationError(`system variable @@${system} is not supported`);
      if (match === '@') throw new TranslationError('"@" must start a parameter name');
      references.push(name === undefined ? { position: (position += 1) } : { name });
      return ` __mlops_param_${references.length - 1}__ `;
    }),
  );
}

/** R6 after translation: each placeholder (bare or quoted) to the caller's SQL for its parameter. */
function bindParameters(sql: string, bound: readonly string[]): string {
  return joinSegments(
    segmentSql(sql, 'duckdb').map((segment) => {
      if (segment.kind === 'code')
        return {
          ...segment,
          text: segment.text.replace(/__mlops_param_(\d+)__/g, (_match, index) => bound[Number(index)]!),
        };
      const quoted = segment.kind === 'quoted' ? PARAMETER_PLACEHOLDER.exec(segment.text.slice(1, -1)) : null;
      return quoted ? { kind: 'code' as const, text: bound[Number(quoted[1])]! } : segment;
    }),
  );
}

/** Whether a statement only opens or commits a transaction (R5: the runner brings its own). */
export function isTransactionControl(sql: string): boolean {
  return /^\s*(begin|commit)(\s+transaction)?\s*;?\s*$/i.test(sql);
}

/**
 * Translate one BigQuery statement (or script) to DuckDB statements. Throws a
 * {@link TranslationError} naming what could not be translated. Needs
 * {@link loadBigQueryTranslator} to have resolved.
 */
export function translateBigQueryToDuckDb(sql: string, options: TranslateOptions = {}): string[] {
  const references: ParameterReference[] = [];
  const marked = markParameters(sql, references);
  if (references.length > 0 && !options.parameter)
    throw new TranslationError('query parameters (@name or ?) need values bound by the caller');
  const bound = references.map((reference) => options.parameter!(reference));
  const mapped = mapTargets(marked);
  refuseUnsupported(mapped);
  if (!polyglot) throw new Error('translateBigQueryToDuckDb: call loadBigQueryTranslator() first');
  const result = polyglot.transpile(mapped, polyglot.Dialect.BigQuery, polyglot.Dialect.DuckDB);
  if (!result.success || !result.sql) {
    const where =
      result.errorLine === undefined ? '' : ` (line ${result.errorLine}, column ${result.errorColumn ?? '?'})`;
    throw new TranslationError(`${result.error ?? 'polyglot could not translate the statement'}${where}`);
  }
  return result.sql
    .filter((statement) => statement.trim().length > 0)
    .map((statement) => rewriteNumeric(rewriteTimestampType(rewriteRegexpContains(rewriteSafeFunctions(statement)))))
    .map((statement) => (bound.length > 0 ? bindParameters(statement, bound) : statement));
}
