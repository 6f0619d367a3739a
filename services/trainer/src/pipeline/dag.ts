/**
 * A pipeline: root parameters, and tasks that each run a component with every input bound to a
 * root parameter, an upstream task's output, or a constant. The same description runs in-process
 * (`local.runner.ts`) and compiles to a KFP v2 PipelineSpec (`kfp.compiler.ts`).
 */
import type { Component, ComponentInterface, JsonValue, ParameterType } from '../components/component.js';
import { matchesType } from '../components/component.js';
import { TrainerErrors } from '../errors.js';

/** Where a task's input parameter comes from. */
export type ParameterBinding =
  | { readonly kind: 'pipeline'; readonly parameter: string }
  | { readonly kind: 'task'; readonly task: string; readonly output: string }
  | { readonly kind: 'constant'; readonly value: JsonValue };

/** Where a task's input artifact comes from: an upstream task's output artifact. */
export interface ArtifactBinding {
  readonly task: string;
  readonly output: string;
}

/** A root parameter of the pipeline. */
export interface PipelineParameter {
  readonly type: ParameterType;
  readonly description: string;
  /** Used when the run does not give one. */
  readonly default?: JsonValue;
}

/** One task: a component and its bindings. */
export interface PipelineTask<I extends ComponentInterface = ComponentInterface> {
  readonly component: Component<I>;
  readonly parameters: { readonly [K in keyof I['parameters']]: ParameterBinding };
  readonly artifacts: { readonly [K in keyof I['artifacts']]: ArtifactBinding };
  /** Tasks that must finish first although no input comes from them. */
  readonly after?: readonly string[];
}

/** A pipeline description. */
export interface PipelineDefinition {
  /** KFP pipeline name: lowercase letters, digits and `-`. */
  readonly name: string;
  readonly description: string;
  readonly parameters: Readonly<Record<string, PipelineParameter>>;
  /** Tasks by name (lowercase letters, digits, `-` and `_`). */
  readonly tasks: Readonly<Record<string, PipelineTask>>;
}

/** Bind an input to a root parameter. */
export function fromPipeline(parameter: string): ParameterBinding {
  return { kind: 'pipeline', parameter };
}

/** Bind an input to an upstream task's output parameter. */
export function fromTask(task: string, output: string): ParameterBinding {
  return { kind: 'task', task, output };
}

/** Bind an input to a constant. */
export function constant(value: JsonValue): ParameterBinding {
  return { kind: 'constant', value };
}

/** Bind an input artifact to an upstream task's output artifact. */
export function artifactOf(task: string, output: string): ArtifactBinding {
  return { task, output };
}

/** A task, typed against its component's interface (every input must be bound). */
export function task<const I extends ComponentInterface>(
  component: Component<I>,
  bindings: Omit<PipelineTask<I>, 'component'>,
): PipelineTask {
  return { component, ...bindings } as unknown as PipelineTask;
}

/** The tasks a task depends on (inputs and `after`), sorted. */
export function upstreamOf(pipeline: PipelineDefinition, name: string): string[] {
  const spec = pipeline.tasks[name];
  if (!spec) return [];
  const upstream = new Set<string>(spec.after ?? []);
  for (const binding of Object.values(spec.parameters) as ParameterBinding[])
    if (binding.kind === 'task') upstream.add(binding.task);
  for (const binding of Object.values(spec.artifacts) as ArtifactBinding[]) upstream.add(binding.task);
  return [...upstream].sort();
}

/** Every inconsistency of a pipeline description (empty when valid). */
export function pipelineProblems(pipeline: PipelineDefinition): string[] {
  const problems: string[] = [];
  if (!/^[a-z][a-z0-9-]{0,127}$/.test(pipeline.name))
    problems.push(`pipeline name "${pipeline.name}" must be lowercase letters, digits and -`);
  for (const [name, parameter] of Object.entries(pipeline.parameters)) {
    if (parameter.default !== undefined && !matchesType(parameter.type, parameter.default))
      problems.push(`default of parameter ${name} is not a ${parameter.type}`);
  }
  for (const [name, spec] of Object.entries(pipeline.tasks)) {
    if (!/^[a-z][a-z0-9_-]{0,63}$/.test(name))
      problems.push(`task name "${name}" must be lowercase letters, digits, _ and -`);
    const io = spec.component.io;
    const bound = spec.parameters as Readonly<Record<string, ParameterBinding>>;
    for (const [input, definition] of Object.entries(io.parameters)) {
      const binding = bound[input];
      if (!binding) {
        problems.push(`task ${name}: input parameter ${input} is not wired`);
        continue;
      }
      if (binding.kind === 'pipeline') {
        const root = pipeline.parameters[binding.parameter];
        if (!root) problems.push(`task ${name}: input ${input} reads unknown pipeline parameter ${binding.parameter}`);
        else if (root.type !== definition.type)
          problems.push(
            `task ${name}: input ${input} is ${definition.type} but pipeline parameter ${binding.parameter} is ${root.type}`,
          );
      } else if (binding.kind === 'task') {
        const producer = pipeline.tasks[binding.task];
        const output = producer?.component.io.outputParameters[binding.output];
        if (!producer) problems.push(`task ${name}: input ${input} reads unknown task ${binding.task}`);
        else if (!output)
          problems.push(
            `task ${name}: input ${input} reads unknown output parameter ${binding.task}.${binding.output}`,
          );
        else if (output.type !== definition.type)
          problems.push(
            `task ${name}: input ${input} is ${definition.type} but ${binding.task}.${binding.output} is ${output.type}`,
          );
      } else if (!matchesType(definition.type, binding.value)) {
        problems.push(`task ${name}: constant for ${input} is not a ${definition.type}`);
      }
    }
    for (const input of Object.keys(bound))
      if (!(input in io.parameters))
        problems.push(`task ${name}: ${input} is not an input parameter of ${spec.component.name}`);
    const artifacts = spec.artifacts as Readonly<Record<string, ArtifactBinding>>;
    for (const [input, definition] of Object.entries(io.artifacts)) {
      const binding = artifacts[input];
      if (!binding) {
        problems.push(`task ${name}: input artifact ${input} is not wired`);
        continue;
      }
      const output = pipeline.tasks[binding.task]?.component.io.outputArtifacts[binding.output];
      if (!output)
        problems.push(
          `task ${name}: input artifact ${input} reads unknown output artifact ${binding.task}.${binding.output}`,
        );
      else if (output.type !== definition.type)
        problems.push(
          `task ${name}: artifact ${input} is ${definition.type} but ${binding.task}.${binding.output} is ${output.type}`,
        );
    }
    for (const input of Object.keys(artifacts))
      if (!(input in io.artifacts))
        problems.push(`task ${name}: ${input} is not an input artifact of ${spec.component.name}`);
    for (const before of spec.after ?? [])
      if (!pipeline.tasks[before]) problems.push(`task ${name}: runs after unknown task ${before}`);
  }
  try {
    topologicalOrder(pipeline);
  } catch (error) {
    problems.push((error as Error).message);
  }
  return problems;
}

/** Throw `TRAINER.INVALID_PIPELINE` listing every problem, if any. */
export function assertValidPipeline(pipeline: PipelineDefinition): void {
  const problems = pipelineProblems(pipeline);
  if (problems.length > 0) throw TrainerErrors.invalidPipeline(pipeline.name, problems);
}

/**
 * Tasks in an order where every task comes after its upstream tasks (Kahn's algorithm; ties in
 * declaration order, so the order is stable). Throws on a cycle, naming the tasks in it.
 */
export function topologicalOrder(pipeline: PipelineDefinition): string[] {
  const names = Object.keys(pipeline.tasks);
  const pending = new Map(
    names.map((name) => [name, new Set(upstreamOf(pipeline, name).filter((up) => names.includes(up)))]),
  );
  const order: string[] = [];
  while (pending.size > 0) {
    const ready = names.find((name) => pending.get(name)?.size === 0);
    if (ready === undefined) throw new Error(`the tasks ${[...pending.keys()].join(', ')} form a cycle`);
    order.push(ready);
    pending.delete(ready);
    for (const waiting of pending.values()) waiting.delete(ready);
  }
  return order;
}

/**
 * The pipeline cut down to some tasks. An input of a kept task that read a dropped task's output
 * parameter becomes a root parameter of the input's name (with the given default); root
 * parameters nothing reads any more are dropped. An artifact read from a dropped task cannot be
 * replaced and is an error.
 */
export function selectTasks(
  pipeline: PipelineDefinition,
  options: {
    name: string;
    description: string;
    keep: readonly string[];
    defaults?: Readonly<Record<string, JsonValue>>;
  },
): PipelineDefinition {
  const kept = new Set(options.keep);
  const tasks: Record<string, PipelineTask> = {};
  const parameters: Record<string, PipelineParameter> = {};
  for (const name of options.keep) {
    const spec = pipeline.tasks[name];
    if (!spec) throw TrainerErrors.invalidPipeline(options.name, [`unknown task ${name}`]);
    const rebound: Record<string, ParameterBinding> = {};
    for (const [input, binding] of Object.entries(spec.parameters as Readonly<Record<string, ParameterBinding>>)) {
      if (binding.kind === 'task' && !kept.has(binding.task)) {
        const definition = spec.component.io.parameters[input]!;
        const fallback = options.defaults?.[input];
        parameters[input] = {
          type: definition.type,
          description: definition.description,
          ...(fallback === undefined ? {} : { default: fallback }),
        };
        rebound[input] = fromPipeline(input);
      } else {
        if (binding.kind === 'pipeline' && pipeline.parameters[binding.parameter])
          parameters[binding.parameter] = pipeline.parameters[binding.parameter]!;
        rebound[input] = binding;
      }
    }
    for (const [input, binding] of Object.entries(spec.artifacts as Readonly<Record<string, ArtifactBinding>>)) {
      if (!kept.has(binding.task))
        throw TrainerErrors.invalidPipeline(options.name, [
          `task ${name} reads artifact ${input} from ${binding.task}, which is not kept`,
        ]);
    }
    tasks[name] = {
      ...spec,
      parameters: rebound,
      ...(spec.after ? { after: spec.after.filter((before) => kept.has(before)) } : {}),
    } as PipelineTask;
  }
  return { name: options.name, description: options.description, parameters, tasks };
}
