/**
 * The DuckDB plan of a compiled Dataform graph: each action translated from BigQuery SQL to DuckDB
 * statements (bronze sources read from the lake's Parquet partitions), in dependency order, with
 * the run dates left as sentinels when the plan is a cached template.
 */
import {
  RUN_DATES_SENTINEL,
  RUN_DATE_FIRST_SENTINEL,
  RUN_DATE_LAST_SENTINEL,
  TransformErrors,
  type TransformActionType,
} from '@mlops/kernel';
import {
  actionsInDependencyOrder,
  targetName,
  type CompiledGraph,
  type DataformTarget,
  type GraphAction,
} from './compiled-graph.js';
import {
  CATALOG_PLACEHOLDER,
  TranslationError,
  isTransactionControl,
  translateBigQueryToDuckDb,
} from './bigquery-to-duckdb.adapter.js';
import { replaceListLiteral } from './dataform-compiler.adapter.js';
import type { BronzeSourceSpec, BronzeSourcesDescription } from './lake-sources.js';

/** One planned action: its DuckDB statements, with the sentinel run date still in them. */
export interface PlannedAction {
  name: string;
  target: DataformTarget;
  type: TransformActionType;
  fileName: string;
  tags: readonly string[];
  source?: BronzeSourceSpec;
  /** table/view/assertion query; operations statements. */
  query?: string;
  incrementalQuery?: string;
  preOps: string[];
  postOps: string[];
  incrementalPreOps: string[];
  incrementalPostOps: string[];
  statements: string[];
}

/** The translated graph of one compilation: a template with sentinel dates, or final. */
export interface Plan {
  actions: PlannedAction[];
  /** Whether the statements hold the sentinel dates, to bind per run. */
  templated: boolean;
  /** The DuckDB rendering of a list of date literals (the same as the translator's). */
  render: (runDates: readonly string[]) => string;
  /** Replace the sentinels in a statement with a run's dates. */
  bindDates: (sql: string, runDates: readonly string[]) => string;
}

export function quote(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}

/** A target in the warehouse's catalog (bound when the statement runs; see R0 in the translator). */
export function relation(target: DataformTarget): string {
  return `${CATALOG_PLACEHOLDER}.${quote(target.schema)}.${quote(target.name)}`;
}

/** Translate a compiled graph into the DuckDB plan of its actions, in dependency order. */
export function buildPlan(graph: CompiledGraph, templated: boolean, description: BronzeSourcesDescription): Plan {
  // The DuckDB text of a date literal, found by translating one, renders a run's dates.
  const literalOf = (date: string) => translateBigQueryToDuckDb(`select date '${date}'`)[0]!.replace(/^SELECT\s+/i, '');
  const template = literalOf(RUN_DATES_SENTINEL);
  const render = (dates: readonly string[]) =>
    dates.map((date) => template.replace(RUN_DATES_SENTINEL, date)).join(', ');
  const [listLiteral, firstLiteral, lastLiteral] = [
    RUN_DATES_SENTINEL,
    RUN_DATE_FIRST_SENTINEL,
    RUN_DATE_LAST_SENTINEL,
  ].map(literalOf) as [string, string, string];
  const bindDates = (sql: string, dates: readonly string[]) => {
    if (!templated) return sql;
    const sorted = [...dates].sort();
    const listed = replaceListLiteral(sql, listLiteral, render(sorted));
    if (listed === undefined) throw new Error('run dates cannot be bound into this statement');
    return listed
      .split(firstLiteral)
      .join(render([sorted[0]!]))
      .split(lastLiteral)
      .join(render([sorted.at(-1)!]));
  };
  const sources = new Map(description.sources.map((source) => [`${description.dataset}.${source.name}`, source]));
  const actions = actionsInDependencyOrder(graph).map((entry) => planAction(entry, sources));
  if (!templated) return { actions, templated, render, bindDates };
  // Binding is a text substitution: it is faithful only if each sentinel survives translation as
  // its literal, and the list's literal sits where a list can. Otherwise the caller translates a
  // real compilation instead.
  const texts = actions.flatMap((action) => [
    action.query ?? '',
    action.incrementalQuery ?? '',
    ...action.statements,
    ...action.preOps,
    ...action.postOps,
    ...action.incrementalPreOps,
    ...action.incrementalPostOps,
  ]);
  const faithful = texts.every((text) => {
    const listed = replaceListLiteral(text, listLiteral, '');
    if (listed === undefined) return false;
    const rest = listed.split(firstLiteral).join('').split(lastLiteral).join('');
    return ![RUN_DATES_SENTINEL, RUN_DATE_FIRST_SENTINEL, RUN_DATE_LAST_SENTINEL].some((sentinel) =>
      rest.includes(sentinel),
    );
  });
  return { actions, templated: faithful, render, bindDates };
}

function planAction(entry: GraphAction, sources: Map<string, BronzeSourceSpec>): PlannedAction {
  const action = entry.action;
  const name = targetName(action.target);
  const fileName = action.fileName ?? '(unknown file)';
  const translate = (sql: string): string[] => {
    if (isTransactionControl(sql)) return [];
    try {
      return translateBigQueryToDuckDb(sql);
    } catch (error) {
      if (error instanceof TranslationError)
        throw TransformErrors.translationFailed(name, fileName, error.message, sql);
      throw error;
    }
  };
  const one = (sql: string): string => {
    const statements = translate(sql);
    if (statements.length !== 1)
      throw TransformErrors.translationFailed(
        name,
        fileName,
        `expected one query, got ${statements.length} statements`,
        sql,
      );
    return statements[0]!;
  };
  const ops = (list: readonly string[] | undefined) =>
    (list ?? []).filter((sql) => sql.trim().length > 0).flatMap(translate);
  const base = {
    name,
    target: action.target,
    fileName,
    tags: action.tags ?? [],
    preOps: [] as string[],
    postOps: [] as string[],
    incrementalPreOps: [] as string[],
    incrementalPostOps: [] as string[],
    statements: [] as string[],
  };
  const source = sources.get(name);
  if (source && (entry.kind === 'operation' || entry.kind === 'declaration')) {
    return { ...base, type: 'source', source };
  }
  switch (entry.kind) {
    case 'declaration':
      return { ...base, type: 'declaration' };
    case 'operation': {
      const statements = entry.action.queries.filter((sql) => sql.trim().length > 0).flatMap(translate);
      return { ...base, type: 'operations', statements };
    }
    case 'assertion': {
      const query = one(entry.action.query);
      return {
        ...base,
        type: 'assertion',
        query,
        statements: [
          `create or replace view ${relation(action.target)} as ${query}`,
          `select count(*) as failing_rows from ${relation(action.target)}`,
        ],
      };
    }
    case 'table': {
      const table = entry.action;
      const query = one(table.query);
      const planned: PlannedAction = {
        ...base,
        type: entry.type,
        query,
        preOps: ops(table.preOps),
        postOps: ops(table.postOps),
      };
      if (entry.type === 'incremental') {
        if (table.uniqueKey && table.uniqueKey.length > 0)
          throw TransformErrors.translationFailed(
            name,
            fileName,
            'incremental tables with uniqueKey (MERGE) are not supported by the DuckDB runner; replace partitions in pre_operations',
            table.query,
          );
        planned.incrementalQuery = one(table.incrementalQuery ?? table.query);
        planned.incrementalPreOps = ops(table.incrementalPreOps);
        planned.incrementalPostOps = ops(table.incrementalPostOps);
      }
      planned.statements = [...planned.preOps, planned.query!, ...planned.postOps];
      return planned;
    }
  }
}
