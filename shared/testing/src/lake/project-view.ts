import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CATALOG_PLACEHOLDER,
  DataformCompiler,
  loadBigQueryTranslator,
  translateBigQueryToDuckDb,
} from '@mlops/adapters-local';

const PROJECT = fileURLToPath(new URL('../../../../dataform', import.meta.url));
let compiler: DataformCompiler | undefined;

/**
 * The DuckDB query of a view of the Dataform project, its references to the project's `dataset`
 * pointing at `schema` (a qualified DuckDB schema): for fixtures that build gold tables by hand
 * and put the project's own views over them. The compiled graph is kept on disk across processes.
 */
export async function projectViewQuery(view: string, schema: string, dataset = 'warehouse'): Promise<string> {
  compiler ??= new DataformCompiler({ projectDir: PROJECT, cacheDir: join(tmpdir(), 'mlops-dataform-compiled') });
  const [{ graph }] = await Promise.all([compiler.compile(['2026-01-01']), loadBigQueryTranslator()]);
  const action = graph.tables?.find((table) => table.target.name === view && table.target.schema === dataset);
  if (!action || (action.type ?? action.enumType?.toLowerCase()) !== 'view')
    throw new Error(`the Dataform project has no view ${dataset}.${view}`);
  const [query, ...more] = translateBigQueryToDuckDb(action.query);
  if (!query || more.length > 0) throw new Error(`the view ${dataset}.${view} is not one query`);
  return query.split(`${CATALOG_PLACEHOLDER}.${dataset}.`).join(`${schema}.`);
}
