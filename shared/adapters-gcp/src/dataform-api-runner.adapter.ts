/**
 * The transform runner of the gcp mode: the same project, compiled and executed by Google Cloud
 * Dataform on BigQuery through the Dataform API (v1). One run:
 *
 * 1. `createCompilationResult` from the repository's git commitish (or a workspace), with the run's
 *    vars; compilation errors fail the run (`DATAFORM.COMPILATION_FAILED`);
 * 2. `queryCompilationResultActions` to learn each action's kind and tags (assertions, quarantine);
 * 3. `createWorkflowInvocation` of every action, as the configured service account;
 * 4. `getWorkflowInvocation` with exponential backoff until a terminal state or the deadline (then
 *    `cancelWorkflowInvocation` and `DATAFORM.INVOCATION_TIMEOUT`, transient);
 * 5. `queryWorkflowInvocationActions` for each action's outcome. Failed assertions are reported,
 *    not thrown (Dataform says "Assertion failed: query returned N row(s)."); any other failed
 *    action fails the run (`DATAFORM.INVOCATION_FAILED`) with its name and reason.
 *
 * Row counts are not part of the Dataform API; a `countRows` function (BigQuery) may supply them.
 */
import type { protos } from '@google-cloud/dataform';
import {
  TransformError,
  TransformErrors,
  normaliseRunDates,
  type TransformActionResult,
  type TransformActionType,
  type TransformAssertionResult,
  type TransformQuarantineCount,
  type TransformRunRequest,
  type TransformRunResult,
  type AsyncTransformRunner,
  type TransformProgress,
  type TransformSubmission,
  type TransformTableCount,
  backoffDelay,
  runDateVars,
} from '@mlops/kernel';

type ICompilationResult = protos.google.cloud.dataform.v1.ICompilationResult;
type ICompilationResultAction = protos.google.cloud.dataform.v1.ICompilationResultAction;
type IWorkflowInvocation = protos.google.cloud.dataform.v1.IWorkflowInvocation;
type IWorkflowInvocationAction = protos.google.cloud.dataform.v1.IWorkflowInvocationAction;
type ITarget = protos.google.cloud.dataform.v1.ITarget;

/**
 * The methods of `DataformClient` (`@google-cloud/dataform` v1) this runner calls. The real client
 * satisfies it; tests pass a fake.
 */
export interface DataformApiClient {
  createCompilationResult(
    request: protos.google.cloud.dataform.v1.ICreateCompilationResultRequest,
  ): Promise<[ICompilationResult, ...unknown[]]>;
  queryCompilationResultActionsAsync(
    request: protos.google.cloud.dataform.v1.IQueryCompilationResultActionsRequest,
  ): AsyncIterable<ICompilationResultAction>;
  createWorkflowInvocation(
    request: protos.google.cloud.dataform.v1.ICreateWorkflowInvocationRequest,
  ): Promise<[IWorkflowInvocation, ...unknown[]]>;
  getWorkflowInvocation(
    request: protos.google.cloud.dataform.v1.IGetWorkflowInvocationRequest,
  ): Promise<[IWorkflowInvocation, ...unknown[]]>;
  queryWorkflowInvocationActionsAsync(
    request: protos.google.cloud.dataform.v1.IQueryWorkflowInvocationActionsRequest,
  ): AsyncIterable<IWorkflowInvocationAction>;
  cancelWorkflowInvocation(request: protos.google.cloud.dataform.v1.ICancelWorkflowInvocationRequest): Promise<unknown>;
}

/** Options of {@link DataformApiTransformRunner}. */
export interface DataformApiTransformRunnerOptions {
  client: DataformApiClient;
  /** `projects/<project>/locations/<region>/repositories/<repository>`. */
  repository: string;
  /** Compile this git commitish (branch, tag or sha) of the repository's remote... */
  gitCommitish?: string;
  /** ...or this workspace (`<repository>/workspaces/<name>`), for development. */
  workspace?: string;
  /** Service account the invocation runs as. */
  serviceAccount?: string;
  /** Default vars (the lake's gs:// root as `lake_uri`, ...); a request's vars override them. */
  vars?: Readonly<Record<string, string>>;
  /** BigQuery project the tables live in (the compilation's default database). */
  defaultDatabase?: string;
  /** Give up waiting after this long (default 2 hours). */
  deadlineMs?: number;
  /** Backoff between polls (default 2 s doubling to 30 s). */
  poll?: { minMs: number; maxMs: number };
  /** Row counts of the built tables and of the quarantine tables for the run dates (BigQuery). */
  countRows?: (
    targets: { tables: string[]; quarantine: string[] },
    runDates: readonly string[],
  ) => Promise<{ tables: TransformTableCount[]; quarantine: TransformQuarantineCount[] }>;
  /** Clock and sleep, replaceable in tests. */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

const ASSERTION_ROWS = /returned\s+(\d+)\s+row/i;

/** An enum value as the client returns it (a name, or its number), as its name. */
function enumName(value: unknown, names: Record<number, string>): string {
  if (typeof value === 'number') return names[value] ?? String(value);
  return typeof value === 'string' ? value : 'STATE_UNSPECIFIED';
}

const INVOCATION_STATES: Record<number, string> = {
  0: 'STATE_UNSPECIFIED',
  1: 'RUNNING',
  2: 'SUCCEEDED',
  3: 'CANCELLED',
  4: 'FAILED',
  5: 'CANCELING',
};
const ACTION_STATES: Record<number, string> = {
  0: 'PENDING',
  1: 'RUNNING',
  2: 'SKIPPED',
  3: 'DISABLED',
  4: 'SUCCEEDED',
  5: 'CANCELLED',
  6: 'FAILED',
};
const RELATION_TYPES: Record<number, string> = {
  0: 'RELATION_TYPE_UNSPECIFIED',
  1: 'TABLE',
  2: 'VIEW',
  3: 'INCREMENTAL_TABLE',
  4: 'MATERIALIZED_VIEW',
};

function nameOf(target: ITarget | null | undefined): string {
  return `${target?.schema ?? '?'}.${target?.name ?? '?'}`;
}

function durationOf(
  interval:
    | {
        startTime?: { seconds?: unknown; nanos?: number | null } | null;
        endTime?: { seconds?: unknown; nanos?: number | null } | null;
      }
    | null
    | undefined,
): number {
  const ms = (time: { seconds?: unknown; nanos?: number | null } | null | undefined) =>
    time ? Number(time.seconds ?? 0) * 1000 + Math.round((time.nanos ?? 0) / 1e6) : undefined;
  const start = ms(interval?.startTime);
  const end = ms(interval?.endTime);
  return start !== undefined && end !== undefined ? Math.max(0, end - start) : 0;
}

interface ActionInfo {
  type: TransformActionType;
  tags: readonly string[];
}

function infoOf(action: ICompilationResultAction): ActionInfo {
  if (action.assertion) return { type: 'assertion', tags: action.assertion.tags ?? [] };
  if (action.operations) return { type: 'operations', tags: action.operations.tags ?? [] };
  if (action.declaration) return { type: 'declaration', tags: [] };
  const relation = action.relation;
  const kind = enumName(relation?.relationType, RELATION_TYPES);
  const type: TransformActionType =
    kind === 'VIEW' || kind === 'MATERIALIZED_VIEW' ? 'view' : kind === 'INCREMENTAL_TABLE' ? 'incremental' : 'table';
  return { type, tags: relation?.tags ?? [] };
}

/** The Dataform API runner of the project (gcp mode). */
export class DataformApiTransformRunner implements AsyncTransformRunner {
  readonly engine = 'bigquery' as const;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: DataformApiTransformRunnerOptions) {
    if (!options.gitCommitish === !options.workspace) {
      throw TransformErrors.compilationFailed(
        'exactly one of gitCommitish and workspace must be set for the Dataform API runner',
      );
    }
    this.now = options.now ?? (() => Date.now());
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /** Compile and invoke the project for the request's run dates, and wait for the outcome. */
  async run(request: TransformRunRequest): Promise<TransformRunResult> {
    const started = this.now();
    const { invocation, created, infos, runDates, compileMs } = await this.start(request);
    const state = await this.waitFor(invocation, created);
    return this.finish(invocation, state, infos, runDates, { durationMs: this.now() - started, compileMs });
  }

  /** Compile and invoke the project, and return at once: the invocation ends later. */
  async submit(request: TransformRunRequest): Promise<TransformSubmission> {
    const { invocation, runDates } = await this.start(request);
    return { invocation, runDates };
  }

  /**
   * Re-read an invocation: `running` until it ends, then its result as {@link run} gives it (its
   * duration from the invocation's own timing); a failed or cancelled one throws as `run` does.
   */
  async read(invocation: string, runDates: readonly string[]): Promise<TransformProgress> {
    const [current] = await this.call('getWorkflowInvocation', () =>
      this.options.client.getWorkflowInvocation({ name: invocation }),
    );
    const state = enumName(current.state, INVOCATION_STATES);
    if (state === 'RUNNING' || state === 'CANCELING' || state === 'STATE_UNSPECIFIED') return { state: 'running' };
    const compilation = current.compilationResult;
    if (!compilation)
      throw TransformErrors.invocationFailed(invocation, 'the Dataform API returned it without its compilation result');
    const infos = await this.actionInfos(compilation);
    const durationMs = durationOf(current.invocationTiming);
    const result = await this.finish(invocation, state, infos, normaliseRunDates(runDates), {
      durationMs,
      compileMs: 0,
    });
    return { state: 'done', result };
  }

  /** `projects/.../repositories/<r>/workflowInvocations/<id>`. */
  invocationName(id: string): string {
    return `${this.options.repository}/workflowInvocations/${id}`;
  }

  async cancel(invocation: string): Promise<void> {
    await this.call('cancelWorkflowInvocation', () =>
      this.options.client.cancelWorkflowInvocation({ name: invocation }),
    );
  }

  private async actionInfos(compilation: string): Promise<Map<string, ActionInfo>> {
    const infos = new Map<string, ActionInfo>();
    await this.call('queryCompilationResultActions', async () => {
      for await (const action of this.options.client.queryCompilationResultActionsAsync({ name: compilation }))
        infos.set(nameOf(action.target), infoOf(action));
    });
    return infos;
  }

  private async start(request: TransformRunRequest) {
    const runDates = normaliseRunDates(request.runDates);
    const vars: Record<string, string> = {
      ...(this.options.vars ?? {}),
      ...(request.vars ?? {}),
      ...runDateVars(runDates),
    };
    for (const [name, value] of Object.entries(vars)) {
      if (/[\n\r]/.test(value)) throw TransformErrors.invalidVar(name, 'must not contain line breaks');
    }

    const compileStarted = this.now();
    const [compilation] = await this.call('createCompilationResult', () =>
      this.options.client.createCompilationResult({
        parent: this.options.repository,
        compilationResult: {
          ...(this.options.gitCommitish
            ? { gitCommitish: this.options.gitCommitish }
            : { workspace: this.options.workspace! }),
          codeCompilationConfig: {
            vars,
            ...(this.options.defaultDatabase ? { defaultDatabase: this.options.defaultDatabase } : {}),
          },
        },
      }),
    );
    const errors = compilation.compilationErrors ?? [];
    if (errors.length > 0) {
      throw TransformErrors.compilationFailed(
        errors
          .map((error) => `${error.path ?? 'project'}: ${error.message ?? 'unknown error'}`)
          .join('; ')
          .slice(0, 3000),
      );
    }
    if (!compilation.name)
      throw TransformErrors.compilationFailed('the Dataform API returned a compilation result without a name');
    const infos = await this.actionInfos(compilation.name);
    const compileMs = this.now() - compileStarted;

    const [created] = await this.call('createWorkflowInvocation', () =>
      this.options.client.createWorkflowInvocation({
        parent: this.options.repository,
        workflowInvocation: {
          compilationResult: compilation.name!,
          invocationConfig: {
            fullyRefreshIncrementalTablesEnabled: false,
            ...(this.options.serviceAccount ? { serviceAccount: this.options.serviceAccount } : {}),
          },
        },
      }),
    );
    const invocation = created.name;
    if (!invocation)
      throw TransformErrors.invocationFailed('(unnamed)', 'the Dataform API returned an invocation without a name');
    return { invocation, created, infos, runDates, compileMs };
  }

  /** The outcome of an ended invocation: its actions, assertions and counts, or the failure. */
  private async finish(
    invocation: string,
    state: string,
    infos: Map<string, ActionInfo>,
    runDates: string[],
    timing: { durationMs: number; compileMs: number },
  ): Promise<TransformRunResult> {
    const outcomes: IWorkflowInvocationAction[] = [];
    await this.call('queryWorkflowInvocationActions', async () => {
      for await (const action of this.options.client.queryWorkflowInvocationActionsAsync({ name: invocation }))
        outcomes.push(action);
    });

    const actions: TransformActionResult[] = [];
    const assertions: TransformAssertionResult[] = [];
    let failure: { action: string; reason: string } | undefined;
    for (const outcome of outcomes) {
      const name = nameOf(outcome.target);
      const info = infos.get(name) ?? { type: 'table' as const, tags: [] };
      const status = enumName(outcome.state, ACTION_STATES);
      if (info.type === 'assertion') {
        if (status === 'SUCCEEDED')
          assertions.push({ name: outcome.target?.name ?? name, passed: true, failingRows: 0 });
        else if (status === 'FAILED') {
          const rows = ASSERTION_ROWS.exec(outcome.failureReason ?? '');
          if (rows)
            assertions.push({ name: outcome.target?.name ?? name, passed: false, failingRows: Number(rows[1]) });
          else failure ??= { action: name, reason: outcome.failureReason ?? 'the assertion could not run' };
        }
      } else if (status === 'FAILED') {
        failure ??= { action: name, reason: outcome.failureReason ?? 'no reason given' };
      }
      actions.push({
        name,
        type: info.type,
        status: status === 'SUCCEEDED' ? 'succeeded' : status === 'FAILED' ? 'failed' : 'skipped',
        durationMs: durationOf(outcome.invocationTiming),
      });
    }
    if (failure)
      throw TransformErrors.invocationFailed(
        invocation,
        `action ${failure.action} failed: ${failure.reason}`,
        failure.action,
      );
    if (state !== 'SUCCEEDED' && state !== 'FAILED')
      throw TransformErrors.invocationFailed(invocation, `the invocation ended ${state}`);
    if (state === 'FAILED' && assertions.every((assertion) => assertion.passed)) {
      throw TransformErrors.invocationFailed(
        invocation,
        'the invocation failed without a failed action to show for it',
      );
    }

    const built = [...infos.entries()].filter(([, info]) => info.type === 'table' || info.type === 'incremental');
    const counts = this.options.countRows
      ? await this.options.countRows(
          {
            tables: built.map(([name]) => name),
            quarantine: built.filter(([, info]) => info.tags.includes('quarantine')).map(([name]) => name),
          },
          runDates,
        )
      : { tables: [], quarantine: [] };
    return {
      engine: 'bigquery',
      runDates,
      tables: counts.tables,
      quarantine: counts.quarantine,
      assertions,
      actions,
      durationMs: timing.durationMs,
      compilation: { cached: false, durationMs: timing.compileMs },
      invocation,
    };
  }

  /** Poll an invocation until it ends; cancel it at the deadline. Resolves to the final state name. */
  private async waitFor(invocation: string, initial: IWorkflowInvocation): Promise<string> {
    const deadline = this.now() + (this.options.deadlineMs ?? 2 * 60 * 60 * 1000);
    const started = this.now();
    const poll = this.options.poll ?? { minMs: 2000, maxMs: 30_000 };
    let state = enumName(initial.state, INVOCATION_STATES);
    for (let attempt = 1; state === 'RUNNING' || state === 'CANCELING' || state === 'STATE_UNSPECIFIED'; attempt += 1) {
      if (this.now() >= deadline) {
        await this.options.client.cancelWorkflowInvocation({ name: invocation }).catch(() => undefined);
        throw TransformErrors.invocationTimeout(invocation, this.now() - started);
      }
      await this.sleep(Math.min(backoffDelay(attempt, poll), Math.max(0, deadline - this.now())));
      const [current] = await this.call('getWorkflowInvocation', () =>
        this.options.client.getWorkflowInvocation({ name: invocation }),
      );
      state = enumName(current.state, INVOCATION_STATES);
    }
    return state;
  }

  /** Call the API; an unreachable or overloaded API is transient, a refused request permanent. */
  private async call<T>(operation: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof TransformError) throw error;
      const code = (error as { code?: unknown }).code;
      // gRPC: UNAVAILABLE 14, DEADLINE_EXCEEDED 4, RESOURCE_EXHAUSTED 8, ABORTED 10, INTERNAL 13.
      if (code === 14 || code === 4 || code === 8 || code === 10 || code === 13 || code === undefined)
        throw TransformErrors.apiUnavailable(operation, error);
      throw TransformErrors.invocationFailed(
        this.options.repository,
        `${operation} was refused: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
}
