/**
 * The parts of `dataform compile --json` output (a `dataform.CompiledGraph`) the runners read, and
 * the one flat list of actions they walk.
 */
import type { TransformActionType } from '@mlops/kernel';

/** A Dataform target: BigQuery project (database), dataset (schema) and name. */
export interface DataformTarget {
  database?: string;
  schema: string;
  name: string;
}

interface ActionBase {
  target: DataformTarget;
  fileName?: string;
  tags?: string[];
  disabled?: boolean;
  dependencyTargets?: DataformTarget[];
  actionDescriptor?: { description?: string };
}

/** A table, view or incremental table. */
export interface CompiledTable extends ActionBase {
  type?: 'table' | 'view' | 'incremental';
  enumType?: 'TABLE' | 'VIEW' | 'INCREMENTAL';
  query: string;
  preOps?: string[];
  postOps?: string[];
  incrementalQuery?: string;
  incrementalPreOps?: string[];
  incrementalPostOps?: string[];
  uniqueKey?: string[];
  protected?: boolean;
  materialized?: boolean;
}

/** An operations action: statements run as written. */
export interface CompiledOperation extends ActionBase {
  queries: string[];
  hasOutput?: boolean;
}

/** An assertion: a query whose rows are failures. */
export interface CompiledAssertion extends ActionBase {
  query: string;
  parentAction?: DataformTarget;
}

/** A declaration of a relation that exists outside the project. */
export type CompiledDeclaration = ActionBase;

/** One compilation error, as the core reports it. */
export interface CompilationError {
  fileName?: string;
  message?: string;
  actionName?: string;
}

/** The compiled graph. */
export interface CompiledGraph {
  tables?: CompiledTable[];
  operations?: CompiledOperation[];
  assertions?: CompiledAssertion[];
  declarations?: CompiledDeclaration[];
  projectConfig?: {
    defaultDatabase?: string;
    defaultSchema?: string;
    assertionSchema?: string;
    vars?: Record<string, string>;
    warehouse?: string;
  };
  graphErrors?: { compilationErrors?: CompilationError[] };
  dataformCoreVersion?: string;
}

/** One action of the graph, whatever its kind. */
export type GraphAction =
  | { kind: 'table'; type: 'table' | 'view' | 'incremental'; action: CompiledTable }
  | { kind: 'operation'; type: 'operations'; action: CompiledOperation }
  | { kind: 'assertion'; type: 'assertion'; action: CompiledAssertion }
  | { kind: 'declaration'; type: 'declaration'; action: CompiledDeclaration };

/** `dataset.name` of a target. */
export function targetName(target: DataformTarget): string {
  return `${target.schema}.${target.name}`;
}

function tableType(table: CompiledTable): 'table' | 'view' | 'incremental' {
  const type = table.type ?? table.enumType?.toLowerCase();
  if (type === 'table' || type === 'view' || type === 'incremental') return type;
  throw new Error(`unsupported table type "${String(table.type ?? table.enumType)}" of ${targetName(table.target)}`);
}

/** Every enabled action of the graph, ordered so each comes after the actions it depends on. */
export function actionsInDependencyOrder(graph: CompiledGraph): GraphAction[] {
  const all: GraphAction[] = [
    ...(graph.declarations ?? []).map((action): GraphAction => ({ kind: 'declaration', type: 'declaration', action })),
    ...(graph.tables ?? []).map((action): GraphAction => ({ kind: 'table', type: tableType(action), action })),
    ...(graph.operations ?? []).map((action): GraphAction => ({ kind: 'operation', type: 'operations', action })),
    ...(graph.assertions ?? []).map((action): GraphAction => ({ kind: 'assertion', type: 'assertion', action })),
  ].filter((entry) => !entry.action.disabled);
  const byName = new Map(all.map((entry) => [targetName(entry.action.target), entry]));
  const ordered: GraphAction[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, path: string[]) => {
    const status = state.get(name);
    if (status === 'done') return;
    if (status === 'visiting') throw new Error(`the graph has a cycle: ${[...path, name].join(' -> ')}`);
    const entry = byName.get(name);
    if (!entry) return; // a dependency outside the project (a relation that must already exist)
    state.set(name, 'visiting');
    const dependencies = (entry.action.dependencyTargets ?? []).map(targetName).sort();
    for (const dependency of dependencies) visit(dependency, [...path, name]);
    state.set(name, 'done');
    ordered.push(entry);
  };
  // Sorted roots make the order deterministic; assertions go as late as their dependencies allow.
  const rank = (entry: GraphAction) => (entry.kind === 'assertion' ? 1 : 0);
  for (const entry of [...all].sort(
    (a, b) => rank(a) - rank(b) || targetName(a.action.target).localeCompare(targetName(b.action.target)),
  )) {
    visit(targetName(entry.action.target), []);
  }
  return ordered;
}

/** The port's name for an action's type. */
export function actionType(entry: GraphAction): TransformActionType {
  return entry.type;
}
