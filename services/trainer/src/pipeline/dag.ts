/**
 * A pipeline: root parameters, and tasks that each run a component with every input bound to a
 * root parameter, an upstream task's output, or a constant. The same description runs in-process
 * (`local.runner.ts`) and compiles to a KFP v2 PipelineSpec (`kfp.compiler.ts`).
 *
 * A description keeps its literal types (`definePipeline`, `task`, the bindings), so the values a
 * run takes (`RunParameters`) and the outputs of each task (`PipelineRunResult`, `run-result.ts`)
 * are typed from the component definitions.
 */
import type {
  AnyComponent,
  Component,
  ComponentInterface,
  JsonValue,
  ParameterType,
  ValueOfType,
} from '../components/component.js';
import { matchesType } from '../components/component.js';
import { TrainerErrors } from '../errors.js';

/** An input bound to a root parameter. */
export interface PipelineBinding<N extends string = string> {
  readonly kind: 'pipeline';
  readonly parameter: N;
}

/** An input bound to an upstream task's output parameter. */
export interface TaskBinding<T extends string = string, O extends string = string> {
  readonly kind: 'task';
  readonly task: T;
  readonly output: O;
}

/** An input bound to a constant. */
export interface ConstantBinding {
  readonly kind: 'constant';
  readonly value: JsonValue;
}

/** Where a task's input parameter comes from. */
export type ParameterBinding = PipelineBinding | TaskBinding | ConstantBinding;

/** Where a task's input artifact comes from: an upstream task's output artifact. */
export interface ArtifactBinding<T extends string = string, O extends string = string> {
  readonly task: T;
  readonly output: O;
}

/** A root parameter of the pipeline. */
export interface PipelineParameter<T extends ParameterType = ParameterType> {
  readonly type: T;
  readonly description: string;
  /** Used when the run does not give one. */
  readonly default?: JsonValue;
}

/** A task as runners and the compiler see it. */
export interface AnyTask {
  readonly component: AnyComponent;
  readonly parameters: Readonly<Record<string, ParameterBinding>>;
  readonly artifacts: Readonly<Record<string, ArtifactBinding>>;
  /** Tasks that must finish first although no input comes from them. */
  readonly after?: readonly string[];
}

/** The bindings a component's inputs need: one per input parameter. */
export type ParameterBindings<I extends ComponentInterface> = {
  readonly [K in keyof I['parameters']]: ParameterBinding;
};

/** The bindings a component's input artifacts need: one per input artifact. */
export type ArtifactBindings<I extends ComponentInterface> = { readonly [K in keyof I['artifacts']]: ArtifactBinding };

/** One task: a component and its bindings, typed. */
export interface PipelineTask<
  I extends ComponentInterface = ComponentInterface,
  PB extends ParameterBindings<I> = ParameterBindings<I>,
  AB extends ArtifactBindings<I> = ArtifactBindings<I>,
> extends AnyTask {
  readonly component: Component<I>;
  readonly parameters: PB;
  readonly artifacts: AB;
}

/** Root parameters of a pipeline, by name. */
export type PipelineParameters = Readonly<Record<string, PipelineParameter>>;

/** Tasks of a pipeline, by name (lowercase letters, digits, `-` and `_`). */
export type PipelineTasks = Readonly<Record<string, AnyTask>>;

/** A pipeline description. */
export interface PipelineDefinition<
  P extends PipelineParameters = PipelineParameters,
  T extends PipelineTasks = PipelineTasks,
> {
  /** KFP pipeline name: lowercase letters, digits and `-`. */
  readonly name: string;
  readonly description: string;
  readonly parameters: P;
  readonly tasks: T;
}

/** The interface of a task's component. */
export type ComponentIo<X> = X extends { readonly component: Component<infer I> } ? I : ComponentInterface;

/** The values a run of a pipeline takes: every root parameter, optional where it has a default. */
export type RunParameters<D extends PipelineDefinition> = {
  -readonly [K in keyof D['parameters'] as D['parameters'][K] extends { readonly default: JsonValue }
    ? never
    : K]: ValueOfType<D['parameters'][K]['type']>;
} & {
  -readonly [K in keyof D['parameters'] as D['parameters'][K] extends { readonly default: JsonValue }
    ? K
    : never]?: ValueOfType<D['parameters'][K]['type']>;
};

/** A pipeline description with its literal types kept (the parameters' and tasks' types). */
export function definePipeline<const P extends PipelineParameters, const T extends PipelineTasks>(
  pipeline: PipelineDefinition<P, T>,
): PipelineDefinition<P, T> {
  return pipeline;
}

/** Bind an input to a root parameter. */
export function fromPipeline<const N extends string>(parameter: N): PipelineBinding<N> {
  return { kind: 'pipeline', parameter };
}

/** Bind an input to an upstream task's output parameter. */
export function fromTask<const T extends string, const O extends string>(task: T, output: O): TaskBinding<T, O> {
  return { kind: 'task', task, output };
}

/** Bind an input to a constant. */
export function constant(value: JsonValue): ConstantBinding {
  return { kind: 'constant', value };
}

/** Bind an input artifact to an upstream task's output artifact. */
export function artifactOf<const T extends string, const O extends string>(task: T, output: O): ArtifactBinding<T, O> {
  return { task, output };
}

/** A task, typed against its component's interface (every input must be bound). */
export function task<
  const I extends ComponentInterface,
  const PB extends ParameterBindings<I>,
  const AB extends ArtifactBindings<I>,
>(
  component: Component<I>,
  bindings: { readonly parameters: PB; readonly artifacts: AB; readonly after?: readonly string[] },
): PipelineTask<I, PB, AB> {
  return { component, ...bindings };
}

/** The tasks a task depends on (inputs and `after`), sorted. */
export function upstreamOf(pipeline: PipelineDefinition, name: string): string[] {
  const spec = pipeline.tasks[name];
  if (!spec) return [];
  const upstream = new Set<string>(spec.after ?? []);
  for (const binding of Object.values(spec.parameters)) if (binding.kind === 'task') upstream.add(binding.task);
  for (const binding of Object.values(spec.artifacts)) upstream.add(binding.task);
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
    const bound = spec.parameters;
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
    const artifacts = spec.artifacts;
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

type BindingsOf<X> = X extends { readonly parameters: infer PB } ? PB : never;

/** The root parameters the kept tasks read. */
type ReadParameters<T, Keep extends keyof T> = {
  [K in Keep]: {
    [In in keyof BindingsOf<T[K]>]: BindingsOf<T[K]>[In] extends PipelineBinding<infer N> ? N : never;
  }[keyof BindingsOf<T[K]>];
}[Keep];

/** The inputs of kept tasks that read a dropped task's output (they become root parameters). */
type LiftedInputs<T, Keep extends keyof T> = {
  [K in Keep]: {
    [In in keyof BindingsOf<T[K]>]: BindingsOf<T[K]>[In] extends TaskBinding<infer From>
      ? From extends Keep
        ? never
        : In
      : never;
  }[keyof BindingsOf<T[K]>];
}[Keep];

/** The type of a lifted input, from the component that reads it. */
type LiftedType<T, Keep extends keyof T, In extends PropertyKey> = {
  [K in Keep]: In extends keyof ComponentIo<T[K]>['parameters'] ? ComponentIo<T[K]>['parameters'][In]['type'] : never;
}[Keep];

/** The root parameters of a pipeline cut down to some tasks (see {@link selectTasks}). */
export type SelectedParameters<D extends PipelineDefinition, Keep extends keyof D['tasks'], Defaults> = {
  readonly [N in ReadParameters<D['tasks'], Keep> & keyof D['parameters']]: D['parameters'][N];
} & {
  readonly [In in LiftedInputs<D['tasks'], Keep> & string]: In extends keyof Defaults
    ? PipelineParameter<LiftedType<D['tasks'], Keep, In>> & { readonly default: JsonValue }
    : PipelineParameter<LiftedType<D['tasks'], Keep, In>>;
};

/** The tasks of a pipeline cut down to some tasks (their inputs rebound). */
export type SelectedTasks<D extends PipelineDefinition, Keep extends keyof D['tasks']> = {
  readonly [K in Keep]: PipelineTask<ComponentIo<D['tasks'][K]>>;
};

/**
 * The pipeline cut down to some tasks. An input of a kept task that read a dropped task's output
 * parameter becomes a root parameter of the input's name (with the given default); root
 * parameters nothing reads any more are dropped. An artifact read from a dropped task cannot be
 * replaced and is an error.
 */
export function selectTasks<
  D extends PipelineDefinition,
  const Keep extends keyof D['tasks'] & string,
  const Defaults extends Readonly<Record<string, JsonValue>> = Record<never, JsonValue>,
>(
  pipeline: D,
  options: { name: string; description: string; keep: readonly Keep[]; defaults?: Defaults },
): PipelineDefinition<SelectedParameters<D, Keep, Defaults>, SelectedTasks<D, Keep>> {
  const kept = new Set<string>(options.keep);
  const tasks: Record<string, AnyTask> = {};
  const parameters: Record<string, PipelineParameter> = {};
  for (const name of options.keep) {
    const spec = pipeline.tasks[name];
    if (!spec) throw TrainerErrors.invalidPipeline(options.name, [`unknown task ${name}`]);
    const rebound: Record<string, ParameterBinding> = {};
    for (const [input, binding] of Object.entries(spec.parameters)) {
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
    for (const [input, binding] of Object.entries(spec.artifacts)) {
      if (!kept.has(binding.task))
        throw TrainerErrors.invalidPipeline(options.name, [
          `task ${name} reads artifact ${input} from ${binding.task}, which is not kept`,
        ]);
    }
    tasks[name] = {
      ...spec,
      parameters: rebound,
      ...(spec.after ? { after: spec.after.filter((before) => kept.has(before)) } : {}),
    };
  }
  const selected: PipelineDefinition = { name: options.name, description: options.description, parameters, tasks };
  // The one place a type is asserted: built by name above, as the types say (each kept task keeps
  // its component; each parameter is read or lifted), and checked whole by `assertValidPipeline`.
  return selected as PipelineDefinition<SelectedParameters<D, Keep, Defaults>, SelectedTasks<D, Keep>>;
}
