/**
 * A stand-in for the Dataform API (v1, REST as `@google-cloud/dataform` sends it with
 * `fallback: true`): the calls of the transformer's runner, on the project's own engines. A
 * compilation result compiles the project with the real Dataform compiler (its actions are the
 * project's); a workflow invocation runs it with the project's DuckDB runner on a configured lake
 * and warehouse file, in the background, one at a time, and ends SUCCEEDED or FAILED as that run
 * did (a failed assertion fails its action and the invocation, as in Dataform). When one ends, the
 * completion entry Cloud Logging would write is handed to `onCompletion` (a test publishes it to
 * `dataform-completions`, as the log sink does).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  DataformCompiler,
  DuckDbTransformRunner,
  openDuckDbWarehouseAccess,
  type CompiledGraph,
  type DataformTarget,
} from '@mlops/adapters-local';
import { TransformError, type TransformRunResult, type WarehouseAccess } from '@mlops/kernel';
import {
  HttpError,
  NotImplementedError,
  onlyFields,
  onlyParams,
  readJson,
  sendJson,
  serve,
  stderrLog,
  type RunningServer,
  type StandinLog,
} from '../http/server.js';

/** Options of {@link startDataformStandin}. */
export interface DataformStandinOptions {
  projectId: string;
  location?: string;
  /** The Dataform project folder compiled and run. */
  projectDir: string;
  /** Local folder of the lake (holding `bronze/`) the runs read. */
  lakeRoot: string;
  /**
   * Where the runs build: a DuckDB file, or a warehouse access (the BigQuery stand-in's database,
   * `engineWarehouseAccess`, so BigQuery jobs read what Dataform built).
   */
  warehousePath?: string;
  warehouse?: WarehouseAccess;
  /** The LogEntry Cloud Logging writes when an invocation ends. */
  onCompletion?: (entry: Record<string, unknown>) => void | Promise<void>;
  log?: StandinLog;
}

/** A running Dataform stand-in. */
export interface DataformStandin extends RunningServer {
  /** Resolves when every invocation started so far has ended. */
  idle(): Promise<void>;
}

// Enum numbers, as the client asks for them (`$alt=json;enum-encoding=int`).
const RELATION = { table: 1, view: 2, incremental: 3 } as const;
const INVOCATION = { RUNNING: 1, SUCCEEDED: 2, CANCELLED: 3, FAILED: 4 } as const;
const ACTION = { SKIPPED: 2, SUCCEEDED: 4, FAILED: 6 } as const;
const ALT_PARAM = '$alt';

interface Compilation {
  name: string;
  runDates: string[];
  graph: CompiledGraph;
}

interface Invocation {
  name: string;
  compilationResult: string;
  state: number;
  startTime: string;
  endTime?: string;
  invocationConfig: Record<string, unknown>;
  actions: Record<string, unknown>[];
}

const PARENT =
  /^\/v1\/(projects\/[^/]+\/locations\/[^/]+\/repositories\/[^/]+)\/(compilationResults|workflowInvocations)$/;
const RESOURCE =
  /^\/v1\/(projects\/[^/]+\/locations\/[^/]+\/repositories\/[^/]+\/(compilationResults|workflowInvocations)\/[^/:]+)(:query|:cancel)?$/;

function target(projectId: string, value: DataformTarget) {
  return { database: value.database ?? projectId, schema: value.schema, name: value.name };
}

/** The actions of a compiled graph, as `queryCompilationResultActions` lists them. */
function compilationActions(projectId: string, graph: CompiledGraph): Record<string, unknown>[] {
  return [
    ...(graph.declarations ?? []).map((a) => ({ target: target(projectId, a.target), declaration: {} })),
    ...(graph.tables ?? []).map((a) => ({
      target: target(projectId, a.target),
      filePath: a.fileName,
      relation: { tags: a.tags ?? [], relationType: RELATION[a.type ?? 'table'] },
    })),
    ...(graph.operations ?? []).map((a) => ({
      target: target(projectId, a.target),
      filePath: a.fileName,
      operations: { tags: a.tags ?? [] },
    })),
    ...(graph.assertions ?? []).map((a) => ({
      target: target(projectId, a.target),
      filePath: a.fileName,
      assertion: { tags: a.tags ?? [] },
    })),
  ];
}

function runDatesOf(vars: Record<string, unknown>): string[] {
  const dates = typeof vars.run_dates === 'string' ? vars.run_dates.split(/[\s,]+/).filter(Boolean) : [];
  if (dates.length === 0) throw new HttpError(400, 'invalid', 'the stand-in runs the project for vars.run_dates');
  return dates;
}

/** Start the Dataform stand-in on 127.0.0.1 (a free port unless `port`). */
export async function startDataformStandin(options: DataformStandinOptions, port = 0): Promise<DataformStandin> {
  const log = options.log ?? stderrLog;
  const compiler = new DataformCompiler({ projectDir: options.projectDir });
  if (!options.warehouse === !options.warehousePath)
    throw new Error('the Dataform stand-in builds in one warehouse: give warehousePath or warehouse');
  const ownWarehouse = options.warehousePath ? openDuckDbWarehouseAccess({ path: options.warehousePath }) : undefined;
  const warehouse = options.warehouse ?? ownWarehouse!;
  const runner = new DuckDbTransformRunner({
    projectDir: options.projectDir,
    lakeRoot: options.lakeRoot,
    warehouse,
    compiler,
  });
  // Compile once up front (the CLI is slow the first time); later compilations reuse the graph.
  await compiler.compile(['2026-01-01']);
  const compilations = new Map<string, Compilation>();
  const invocations = new Map<string, Invocation>();
  let queue: Promise<void> = Promise.resolve();

  const execute = async (invocation: Invocation, compilation: Compilation) => {
    let result: TransformRunResult | undefined;
    let failure: { action?: string; reason: string } | undefined;
    try {
      result = await runner.run({ runDates: compilation.runDates });
    } catch (error) {
      failure = {
        ...(error instanceof TransformError && error.action ? { action: error.action } : {}),
        reason: (error as Error).message,
      };
    }
    if (invocation.state === INVOCATION.CANCELLED) return;
    const time = new Date().toISOString();
    const timing = { startTime: invocation.startTime, endTime: time };
    const failedAssertions = new Map((result?.assertions ?? []).filter((a) => !a.passed).map((a) => [a.name, a]));
    invocation.actions = compilationActions(options.projectId, compilation.graph)
      .filter((action) => !('declaration' in action))
      .map((action) => {
        const t = action.target as { schema: string; name: string };
        const name = `${t.schema}.${t.name}`;
        const assertion = failedAssertions.get(t.name);
        const failed = failure?.action === name || assertion !== undefined;
        const reason = assertion
          ? `Assertion failed: query returned ${assertion.failingRows} row(s).`
          : failure?.action === name
            ? failure.reason
            : undefined;
        return {
          target: action.target,
          canonicalTarget: action.target,
          state: failed ? ACTION.FAILED : failure && !result ? ACTION.SKIPPED : ACTION.SUCCEEDED,
          ...(reason ? { failureReason: reason } : {}),
          invocationTiming: timing,
          bigqueryAction: { sqlScript: '-- run by the stand-in on DuckDB' },
        };
      });
    if (failure && !failure.action)
      invocation.actions.push({
        target: { database: options.projectId, schema: 'dataform', name: 'invocation' },
        state: ACTION.FAILED,
        failureReason: failure.reason,
        invocationTiming: timing,
      });
    invocation.state = failure || failedAssertions.size > 0 ? INVOCATION.FAILED : INVOCATION.SUCCEEDED;
    invocation.endTime = time;
    const [, project, location, repository] = /^projects\/([^/]+)\/locations\/([^/]+)\/repositories\/([^/]+)/.exec(
      invocation.name,
    )!;
    await options.onCompletion?.({
      insertId: randomUUID().slice(0, 12),
      logName: `projects/${project}/logs/dataform.googleapis.com%2Fworkflow_invocation_completion`,
      resource: {
        type: 'dataform.googleapis.com/Repository',
        labels: { repository_id: repository, location, resource_container: project },
      },
      jsonPayload: {
        '@type': 'type.googleapis.com/google.cloud.dataform.logging.v1.WorkflowInvocationCompletionLogEntry',
        workflowInvocationId: invocation.name.split('/').pop(),
        terminalState: invocation.state === INVOCATION.SUCCEEDED ? 'SUCCEEDED' : 'FAILED',
      },
      severity: invocation.state === INVOCATION.SUCCEEDED ? 'INFO' : 'ERROR',
      timestamp: time,
    });
  };

  const createCompilation = async (parent: string, body: Record<string, unknown>) => {
    onlyFields(body, ['gitCommitish', 'workspace', 'codeCompilationConfig'], 'compilationResult');
    const config = (body.codeCompilationConfig ?? {}) as Record<string, unknown>;
    onlyFields(config, ['vars', 'defaultDatabase'], 'codeCompilationConfig');
    if (!body.gitCommitish && !body.workspace)
      throw new HttpError(400, 'invalid', 'gitCommitish or workspace is required');
    const runDates = runDatesOf((config.vars ?? {}) as Record<string, unknown>);
    const name = `${parent}/compilationResults/${randomUUID()}`;
    let graph: CompiledGraph = {};
    let errors: { message: string; path?: string }[] = [];
    try {
      graph = (await compiler.compile(runDates)).graph;
    } catch (error) {
      errors = [{ message: (error as Error).message }];
    }
    compilations.set(name, { name, runDates, graph });
    return { name, ...body, dataformCoreVersion: graph.dataformCoreVersion ?? '', compilationErrors: errors };
  };

  const createInvocation = (parent: string, body: Record<string, unknown>) => {
    onlyFields(body, ['compilationResult', 'invocationConfig'], 'workflowInvocation');
    const config = (body.invocationConfig ?? {}) as Record<string, unknown>;
    onlyFields(config, ['fullyRefreshIncrementalTablesEnabled', 'serviceAccount'], 'invocationConfig');
    const compilation = compilations.get(String(body.compilationResult));
    if (!compilation)
      throw new HttpError(404, 'notFound', `compilation result ${String(body.compilationResult)} not found`);
    const name = `${parent}/workflowInvocations/${Math.floor(Date.now() / 1000)}-${randomUUID()}`;
    const invocation: Invocation = {
      name,
      compilationResult: compilation.name,
      state: INVOCATION.RUNNING,
      startTime: new Date().toISOString(),
      invocationConfig: config,
      actions: [],
    };
    invocations.set(name, invocation);
    queue = queue.then(() =>
      execute(invocation, compilation).catch((error: unknown) =>
        log({ severity: 'ERROR', standin: 'dataform', message: `invocation ${name} broke: ${String(error)}` }),
      ),
    );
    return view(invocation);
  };

  const view = (invocation: Invocation) => ({
    name: invocation.name,
    compilationResult: invocation.compilationResult,
    invocationConfig: invocation.invocationConfig,
    state: invocation.state,
    invocationTiming: {
      startTime: invocation.startTime,
      ...(invocation.endTime ? { endTime: invocation.endTime } : {}),
    },
    resolvedCompilationResult: invocation.compilationResult,
  });

  const handler = async (req: IncomingMessage, res: ServerResponse, url: URL) => {
    if (!/^Bearer \S+/.test(req.headers.authorization ?? ''))
      throw new HttpError(401, 'unauthorized', 'Request is missing required authentication credential.');
    const parent = PARENT.exec(url.pathname);
    if (parent && req.method === 'POST') {
      onlyParams(url, [ALT_PARAM], `POST ${parent[2]}`);
      const body = await readJson(req);
      const created =
        parent[2] === 'compilationResults'
          ? await createCompilation(parent[1]!, body)
          : createInvocation(parent[1]!, body);
      return sendJson(res, 200, created);
    }
    const resource = RESOURCE.exec(url.pathname);
    if (!resource) throw new NotImplementedError(`${req.method} ${url.pathname}`);
    const [, name, kind, verb] = resource as unknown as [string, string, string, string | undefined];
    if (kind === 'compilationResults' && verb === ':query' && req.method === 'GET') {
      onlyParams(url, [ALT_PARAM, 'pageSize', 'pageToken'], 'queryCompilationResultActions');
      const compilation = compilations.get(name);
      if (!compilation) throw new HttpError(404, 'notFound', `compilation result ${name} not found`);
      return sendJson(res, 200, { compilationResultActions: compilationActions(options.projectId, compilation.graph) });
    }
    if (kind !== 'workflowInvocations') throw new NotImplementedError(`${req.method} ${url.pathname}`);
    const invocation = invocations.get(name);
    if (!invocation) throw new HttpError(404, 'notFound', `workflow invocation ${name} not found`);
    if (verb === undefined && req.method === 'GET') {
      onlyParams(url, [ALT_PARAM], 'getWorkflowInvocation');
      return sendJson(res, 200, view(invocation));
    }
    if (verb === ':query' && req.method === 'GET') {
      onlyParams(url, [ALT_PARAM, 'pageSize', 'pageToken'], 'queryWorkflowInvocationActions');
      return sendJson(res, 200, { workflowInvocationActions: invocation.actions });
    }
    if (verb === ':cancel' && req.method === 'POST') {
      if (invocation.state === INVOCATION.RUNNING) {
        invocation.state = INVOCATION.CANCELLED;
        invocation.endTime = new Date().toISOString();
      }
      return sendJson(res, 200, {});
    }
    throw new NotImplementedError(`${req.method} ${url.pathname}`);
  };

  const server = await serve('dataform', handler, log, port);
  return {
    ...server,
    idle: async () => {
      let seen: Promise<void>;
      do {
        seen = queue;
        await seen;
      } while (seen !== queue);
    },
    stop: async () => {
      await queue.catch(() => undefined);
      await server.stop();
      await ownWarehouse?.close();
    },
  };
}
