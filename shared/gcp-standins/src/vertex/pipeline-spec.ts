/**
 * The part of a KFP v2 `PipelineSpec` (IR schema 2.x, JSON) the Vertex stand-in runs: one root DAG
 * of container tasks, inputs wired from the root parameters, from other tasks' output parameters
 * and artifacts, or constants. Anything else a spec may hold (sub-DAGs, loops, conditions,
 * importers, caching, other placeholders) is refused when the job is created, so a spec that only
 * the real service would run never passes here.
 */
import { HttpError, NotImplementedError } from '../http/server.js';

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
type JsonObject = Record<string, Json>;

/** A container executor of the spec. */
export interface ContainerExecutor {
  image: string;
  command: string[];
  args: string[];
  env: Record<string, string>;
}

/** How a task input gets its value. */
export type ParameterSource =
  | { kind: 'root'; parameter: string }
  | { kind: 'task'; task: string; output: string }
  | { kind: 'constant'; value: Json };

/** One task of the root DAG, resolved against its component and executor. */
export interface SpecTask {
  name: string;
  upstream: string[];
  executor: ContainerExecutor;
  parameters: Record<string, ParameterSource>;
  artifacts: Record<string, { task: string; output: string }>;
  outputParameters: Record<string, string>;
  /** Output artifacts and their schema titles. */
  outputArtifacts: Record<string, string>;
}

/** A checked spec: its root parameters and its tasks in a topological order. */
export interface CheckedSpec {
  name: string;
  rootParameters: Record<string, { type: string; default?: Json; optional: boolean }>;
  tasks: SpecTask[];
  defaultPipelineRoot?: string;
}

/** The placeholders a container's args may use, besides `{{$}}`. */
export const PLACEHOLDERS = [
  '{{$.pipeline_job_name}}',
  '{{$.pipeline_job_resource_name}}',
  '{{$.pipeline_job_uuid}}',
  '{{$.pipeline_task_name}}',
  '{{$.pipeline_task_uuid}}',
  '{{$.pipeline_root}}',
] as const;

const PARAMETER_TYPES = ['STRING', 'NUMBER_INTEGER', 'NUMBER_DOUBLE', 'BOOLEAN', 'LIST', 'STRUCT'];

function object(value: unknown, where: string): JsonObject {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new HttpError(400, 'invalid', `pipelineSpec: ${where} must be an object`);
  return value as JsonObject;
}

function only(value: JsonObject, allowed: readonly string[], where: string): void {
  for (const key of Object.keys(value))
    if (!allowed.includes(key)) throw new NotImplementedError(`pipelineSpec field ${where}.${key}`);
}

function strings(value: unknown, where: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string'))
    throw new HttpError(400, 'invalid', `pipelineSpec: ${where} must be a list of strings`);
  return value as string[];
}

function checkPlaceholders(args: readonly string[], where: string): void {
  for (const arg of args) {
    for (const found of arg.match(/\{\{\$[^}]*\}\}/g) ?? []) {
      if (found !== '{{$}}' && !(PLACEHOLDERS as readonly string[]).includes(found))
        throw new NotImplementedError(`placeholder ${found} in ${where}`);
    }
  }
}

function definitions(value: Json | undefined, where: string): { parameters: JsonObject; artifacts: JsonObject } {
  if (value === undefined) return { parameters: {}, artifacts: {} };
  const defs = object(value, where);
  only(defs, ['parameters', 'artifacts'], where);
  return {
    parameters: defs.parameters === undefined ? {} : object(defs.parameters, `${where}.parameters`),
    artifacts: defs.artifacts === undefined ? {} : object(defs.artifacts, `${where}.artifacts`),
  };
}

function executorOf(executors: JsonObject, label: string): ContainerExecutor {
  const executor = object(executors[label] ?? null, `deploymentSpec.executors.${label}`);
  only(executor, ['container'], `deploymentSpec.executors.${label}`);
  const container = object(executor.container ?? null, `deploymentSpec.executors.${label}.container`);
  const where = `deploymentSpec.executors.${label}.container`;
  only(container, ['image', 'command', 'args', 'env', 'resources'], where);
  if (typeof container.image !== 'string' || container.image === '')
    throw new HttpError(400, 'invalid', `pipelineSpec: ${where}.image is required`);
  const command = strings(container.command, `${where}.command`);
  const args = strings(container.args, `${where}.args`);
  if (command.length === 0) throw new NotImplementedError(`${where} without a command (the image's entrypoint)`);
  checkPlaceholders([...command, ...args], where);
  const env: Record<string, string> = {};
  for (const item of (container.env ?? []) as Json[]) {
    const pair = object(item, `${where}.env[]`);
    if (typeof pair.name !== 'string' || typeof pair.value !== 'string')
      throw new HttpError(400, 'invalid', `pipelineSpec: ${where}.env[] needs a name and a value`);
    env[pair.name] = pair.value;
  }
  return { image: container.image, command, args, env };
}

function parameterSource(binding: JsonObject, where: string): ParameterSource {
  only(binding, ['componentInputParameter', 'taskOutputParameter', 'runtimeValue'], where);
  if (typeof binding.componentInputParameter === 'string')
    return { kind: 'root', parameter: binding.componentInputParameter };
  if (binding.taskOutputParameter !== undefined) {
    const output = object(binding.taskOutputParameter, `${where}.taskOutputParameter`);
    if (typeof output.producerTask !== 'string' || typeof output.outputParameterKey !== 'string')
      throw new HttpError(400, 'invalid', `pipelineSpec: ${where}.taskOutputParameter is incomplete`);
    return { kind: 'task', task: output.producerTask, output: output.outputParameterKey };
  }
  if (binding.runtimeValue !== undefined) {
    const runtime = object(binding.runtimeValue, `${where}.runtimeValue`);
    only(runtime, ['constant'], `${where}.runtimeValue`);
    return { kind: 'constant', value: runtime.constant ?? null };
  }
  throw new HttpError(400, 'invalid', `pipelineSpec: ${where} names no source`);
}

/** Check a spec and resolve its tasks; 400 for a broken spec, 501 for what the stand-in does not run. */
export function checkPipelineSpec(spec: unknown): CheckedSpec {
  const root = object(spec, 'the spec');
  only(
    root,
    ['pipelineInfo', 'root', 'components', 'deploymentSpec', 'schemaVersion', 'sdkVersion', 'defaultPipelineRoot'],
    'pipelineSpec',
  );
  if (typeof root.schemaVersion !== 'string' || !root.schemaVersion.startsWith('2.'))
    throw new HttpError(400, 'invalid', 'pipelineSpec.schemaVersion must be a KFP IR 2.x version');
  const info = object(root.pipelineInfo ?? null, 'pipelineInfo');
  if (typeof info.name !== 'string' || !/^[a-z0-9][a-z0-9-]{0,127}$/.test(info.name))
    throw new HttpError(400, 'invalid', 'pipelineSpec.pipelineInfo.name must be lowercase letters, digits and -');
  const rootComponent = object(root.root ?? null, 'root');
  only(rootComponent, ['dag', 'inputDefinitions'], 'root');
  const rootDefs = definitions(rootComponent.inputDefinitions, 'root.inputDefinitions');
  if (Object.keys(rootDefs.artifacts).length > 0) throw new NotImplementedError('root input artifacts');
  const rootParameters: CheckedSpec['rootParameters'] = {};
  for (const [name, raw] of Object.entries(rootDefs.parameters)) {
    const definition = object(raw, `root.inputDefinitions.parameters.${name}`);
    if (!PARAMETER_TYPES.includes(String(definition.parameterType)))
      throw new HttpError(400, 'invalid', `pipelineSpec: root parameter ${name} has no valid parameterType`);
    rootParameters[name] = {
      type: String(definition.parameterType),
      ...(definition.defaultValue === undefined ? {} : { default: definition.defaultValue }),
      optional: definition.isOptional === true || definition.defaultValue !== undefined,
    };
  }
  const dag = object(rootComponent.dag ?? null, 'root.dag');
  only(dag, ['tasks'], 'root.dag');
  const rawTasks = object(dag.tasks ?? null, 'root.dag.tasks');
  const components = object(root.components ?? {}, 'components');
  const deployment = object(root.deploymentSpec ?? null, 'deploymentSpec');
  only(deployment, ['executors'], 'deploymentSpec');
  const executors = object(deployment.executors ?? null, 'deploymentSpec.executors');

  const tasks = new Map<string, SpecTask>();
  for (const [name, raw] of Object.entries(rawTasks)) {
    const where = `root.dag.tasks.${name}`;
    const taskSpec = object(raw, where);
    only(taskSpec, ['componentRef', 'dependentTasks', 'inputs', 'taskInfo', 'cachingOptions'], where);
    if (taskSpec.cachingOptions !== undefined && object(taskSpec.cachingOptions, where).enableCache === true)
      throw new NotImplementedError(`execution caching (${where}.cachingOptions.enableCache)`);
    const ref = object(taskSpec.componentRef ?? null, `${where}.componentRef`);
    const component = object(components[String(ref.name)] ?? null, `components.${String(ref.name)}`);
    only(component, ['executorLabel', 'inputDefinitions', 'outputDefinitions'], `components.${String(ref.name)}`);
    if (typeof component.executorLabel !== 'string')
      throw new NotImplementedError(`component ${String(ref.name)} without a container executor`);
    const inputs = taskSpec.inputs === undefined ? {} : object(taskSpec.inputs, `${where}.inputs`);
    only(inputs, ['parameters', 'artifacts'], `${where}.inputs`);
    const parameters: SpecTask['parameters'] = {};
    for (const [input, binding] of Object.entries(object(inputs.parameters ?? {}, `${where}.inputs.parameters`)))
      parameters[input] = parameterSource(object(binding, `${where}.inputs.parameters.${input}`), `${where}.${input}`);
    const artifacts: SpecTask['artifacts'] = {};
    for (const [input, binding] of Object.entries(object(inputs.artifacts ?? {}, `${where}.inputs.artifacts`))) {
      const source = object(binding, `${where}.inputs.artifacts.${input}`);
      only(source, ['taskOutputArtifact'], `${where}.inputs.artifacts.${input}`);
      const output = object(source.taskOutputArtifact ?? null, `${where}.inputs.artifacts.${input}.taskOutputArtifact`);
      artifacts[input] = { task: String(output.producerTask), output: String(output.outputArtifactKey) };
    }
    const outputs = definitions(component.outputDefinitions, `components.${String(ref.name)}.outputDefinitions`);
    const declared = definitions(component.inputDefinitions, `components.${String(ref.name)}.inputDefinitions`);
    for (const input of Object.keys(declared.parameters))
      if (!(input in parameters) && object(declared.parameters[input]!, input).isOptional !== true)
        throw new HttpError(400, 'invalid', `pipelineSpec: ${where} does not wire its input ${input}`);
    tasks.set(name, {
      name,
      upstream: strings(taskSpec.dependentTasks, `${where}.dependentTasks`),
      executor: executorOf(executors, component.executorLabel),
      parameters,
      artifacts,
      outputParameters: Object.fromEntries(
        Object.entries(outputs.parameters).map(([key, def]) => [key, String(object(def, key).parameterType)]),
      ),
      outputArtifacts: Object.fromEntries(
        Object.entries(outputs.artifacts).map(([key, def]) => [
          key,
          String((object(def, key).artifactType as JsonObject | undefined)?.schemaTitle ?? 'system.Artifact'),
        ]),
      ),
    });
  }
  for (const spec of tasks.values()) {
    const producers = [
      ...Object.values(spec.parameters).flatMap((source) => (source.kind === 'task' ? [source.task] : [])),
      ...Object.values(spec.artifacts).map((source) => source.task),
    ];
    for (const producer of [...spec.upstream, ...producers])
      if (!tasks.has(producer))
        throw new HttpError(400, 'invalid', `pipelineSpec: task ${spec.name} depends on unknown task ${producer}`);
    spec.upstream = [...new Set([...spec.upstream, ...producers])];
    for (const source of Object.values(spec.parameters))
      if (source.kind === 'root' && !(source.parameter in rootParameters))
        throw new HttpError(
          400,
          'invalid',
          `pipelineSpec: task ${spec.name} reads unknown parameter ${source.parameter}`,
        );
  }
  return {
    name: info.name,
    rootParameters,
    tasks: topological(tasks),
    ...(typeof root.defaultPipelineRoot === 'string' ? { defaultPipelineRoot: root.defaultPipelineRoot } : {}),
  };
}

function topological(tasks: Map<string, SpecTask>): SpecTask[] {
  const order: SpecTask[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, path: string[]) => {
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting')
      throw new HttpError(400, 'invalid', `pipelineSpec: the DAG has a cycle (${[...path, name].join(' -> ')})`);
    state.set(name, 'visiting');
    const task = tasks.get(name)!;
    for (const upstream of [...task.upstream].sort()) visit(upstream, [...path, name]);
    state.set(name, 'done');
    order.push(task);
  };
  for (const name of [...tasks.keys()].sort()) visit(name, []);
  return order;
}

/** Whether a JSON value is of a KFP parameter type. */
export function isParameterOfType(type: string, value: unknown): boolean {
  switch (type) {
    case 'STRING':
      return typeof value === 'string';
    case 'NUMBER_INTEGER':
      return typeof value === 'number' && Number.isInteger(value);
    case 'NUMBER_DOUBLE':
      return typeof value === 'number';
    case 'BOOLEAN':
      return typeof value === 'boolean';
    case 'LIST':
      return Array.isArray(value);
    case 'STRUCT':
      return value !== null && typeof value === 'object' && !Array.isArray(value);
    default:
      return false;
  }
}

/** The root parameter values of a job: the given ones checked, the rest from defaults; 400 otherwise. */
export function resolveRootParameters(spec: CheckedSpec, given: Record<string, unknown>): Record<string, Json> {
  const values: Record<string, Json> = {};
  for (const name of Object.keys(given))
    if (!(name in spec.rootParameters))
      throw new HttpError(400, 'invalid', `runtimeConfig.parameterValues.${name} is not a parameter of the pipeline`);
  for (const [name, definition] of Object.entries(spec.rootParameters)) {
    const value = name in given ? given[name] : definition.default;
    if (value === undefined) {
      if (definition.optional) continue;
      throw new HttpError(400, 'invalid', `runtimeConfig.parameterValues.${name} is required`);
    }
    if (!isParameterOfType(definition.type, value))
      throw new HttpError(400, 'invalid', `runtimeConfig.parameterValues.${name} must be a ${definition.type}`);
    values[name] = value as Json;
  }
  return values;
}
