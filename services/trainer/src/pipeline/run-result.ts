/**
 * The typed side of a run: the values a pipeline takes and the outputs each of its tasks gives,
 * both inferred from the component definitions. Runners speak JSON; what they return is checked
 * against the components' output types here before anyone reads it (a Vertex AI job's records are
 * untrusted input), so `result.tasks.register.outputs.version` is a string because it was checked.
 */
import { matchesType, parameterMismatch, type JsonValue, type ParameterValues } from '../components/component.js';
import { TrainerErrors } from '../errors.js';
import type { ComponentIo, PipelineDefinition, RunParameters } from './dag.js';
import type { PipelineRunRequest, PipelineRunner, RawRunResult, RawTaskResult } from './runner.port.js';

/** What one task produced, typed. */
export interface TaskResult<O> {
  outputs: O;
  durationMs: number;
}

/** The output parameters of a pipeline's task. */
export type TaskOutputs<D extends PipelineDefinition, K extends keyof D['tasks']> = ParameterValues<
  ComponentIo<D['tasks'][K]>['outputParameters']
>;

/** Every task's result of a run of a pipeline. */
export type RunTasks<D extends PipelineDefinition> = {
  -readonly [K in keyof D['tasks']]: TaskResult<TaskOutputs<D, K>>;
};

/** What a run of a pipeline produced, typed from its components. */
export interface PipelineRunResult<D extends PipelineDefinition> {
  pipeline: string;
  runKey: string;
  tasks: RunTasks<D>;
  /** The Vertex AI PipelineJob resource name (gcp). */
  job?: string;
}

/** A run of a pipeline, its parameters typed. */
export interface TypedRunRequest<D extends PipelineDefinition>
  extends Omit<PipelineRunRequest, 'pipeline' | 'parameters'> {
  pipeline: D;
  parameters: RunParameters<D>;
}

/** What is wrong with a run's outputs for a pipeline, if anything (`task x: output y must be a STRING`). */
export function runResultMismatch(pipeline: PipelineDefinition, tasks: Readonly<Record<string, RawTaskResult>>) {
  for (const [name, spec] of Object.entries(pipeline.tasks)) {
    const ran = tasks[name];
    if (!ran) return `task ${name} reported no outputs`;
    const mismatch = parameterMismatch(spec.component.io.outputParameters, ran.outputs, 'output');
    if (mismatch) return `task ${name}: ${mismatch} (got ${JSON.stringify(ran.outputs)?.slice(0, 200)})`;
  }
  return undefined;
}

function hasRunTasks<D extends PipelineDefinition>(
  pipeline: D,
  tasks: Record<string, RawTaskResult>,
): tasks is Record<string, RawTaskResult> & RunTasks<D> {
  return runResultMismatch(pipeline, tasks) === undefined;
}

/**
 * A run's result, checked against the pipeline's components and typed: every task present, every
 * output of its declared type and shape, else `TRAINER.INVALID_RUN_OUTPUT` naming the output.
 */
export function decodeRunResult<D extends PipelineDefinition>(pipeline: D, raw: RawRunResult): PipelineRunResult<D> {
  const { tasks } = raw;
  if (!hasRunTasks(pipeline, tasks))
    throw TrainerErrors.invalidRunOutput(
      pipeline.name,
      raw.job ? `job ${raw.job}` : `run ${raw.runKey}`,
      runResultMismatch(pipeline, tasks) ?? 'unreadable outputs',
    );
  return { pipeline: raw.pipeline, runKey: raw.runKey, tasks, ...(raw.job ? { job: raw.job } : {}) };
}

/** The request's parameters on the wire. */
function wireParameters<D extends PipelineDefinition>(parameters: RunParameters<D>): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  for (const [name, value] of Object.entries<JsonValue | undefined>(parameters))
    if (value !== undefined) out[name] = value;
  return out;
}

/** The wire request of a typed one. */
export function wireRequest<D extends PipelineDefinition>(request: TypedRunRequest<D>): PipelineRunRequest {
  return { ...request, parameters: wireParameters(request.parameters) };
}

/** Run a pipeline and read its result typed. */
export async function runPipeline<D extends PipelineDefinition>(
  runner: PipelineRunner,
  request: TypedRunRequest<D>,
): Promise<PipelineRunResult<D>> {
  return decodeRunResult(request.pipeline, await runner.run(wireRequest(request)));
}

/** What is wrong with a set of values for a pipeline's parameters, if anything (defaults fill the missing). */
export function runParametersMismatch(pipeline: PipelineDefinition, values: Readonly<Record<string, unknown>>) {
  for (const name of Object.keys(values)) if (!pipeline.parameters[name]) return `unknown parameter ${name}`;
  for (const [name, spec] of Object.entries(pipeline.parameters)) {
    const value = values[name];
    if (value === undefined) {
      if (spec.default === undefined) return `parameter ${name} has no value and no default`;
    } else if (!matchesType(spec.type, value)) return `parameter ${name} must be a ${spec.type}`;
  }
  return undefined;
}

/** Whether values fit a pipeline's parameters (checked: stored parameters are read back typed). */
export function isRunParameters<D extends PipelineDefinition>(
  pipeline: D,
  values: Readonly<Record<string, unknown>>,
): values is Readonly<Record<string, unknown>> & RunParameters<D> {
  return runParametersMismatch(pipeline, values) === undefined;
}
