/**
 * Compile a pipeline description to a Vertex AI Pipelines / KFP v2 IR `PipelineSpec` (JSON form of
 * `pipeline_spec.proto`, schema 2.1.0), the document `PipelineJob.pipelineSpec` takes:
 *
 * - `pipelineInfo`: the name (Vertex keys its pipeline context on it) and description;
 * - `root.inputDefinitions`: the pipeline's parameters with their types and defaults;
 * - `root.dag.tasks`: one task per step, `componentRef`, `dependentTasks`, and every input wired
 *   with `componentInputParameter`, `taskOutputParameter`, `taskOutputArtifact` or a constant
 *   `runtimeValue`;
 * - `components`: each component's `inputDefinitions`/`outputDefinitions` and `executorLabel`;
 * - `deploymentSpec.executors`: one container per component, the platform's image running
 *   `node services/trainer/dist/components/main.js <component>` (the compiled entrypoint) with the KFP
 *   placeholders `{{$}}` (the whole ExecutorInput), `{{$.pipeline_job_name}}` and
 *   `{{$.pipeline_task_name}}`.
 *
 * Names follow the KFP SDK's conventions: task `batch_predict` becomes `batch-predict`, its
 * component `comp-batch-predict`, its executor `exec-batch-predict`. Keys are emitted sorted, so
 * the same description always gives the same bytes (and the same lake key).
 */
import { createHash } from 'node:crypto';
import type { ObjectStore } from '@mlops/kernel';
import type { ArtifactSpec, ComponentInterface, JsonValue, ParameterSpec } from '../components/component.js';
import {
  assertValidPipeline,
  topologicalOrder,
  upstreamOf,
  type ArtifactBinding,
  type ParameterBinding,
  type PipelineDefinition,
} from './dag.js';
import { PIPELINE_SPECS_PREFIX } from './runner.port.js';

/** The IR schema version emitted. */
export const KFP_SCHEMA_VERSION = '2.1.0';

/**
 * The `sdkVersion` written into the spec: the KFP SDK release whose IR (schema 2.1.0, the field
 * layout and naming above) this compiler reproduces. Vertex reads it to pick IR features; the
 * spec's provenance is in `pipelineInfo.description` and the executors' command.
 */
export const KFP_SDK_VERSION = 'kfp-2.9.0';

/** Where the image has the compiled component entrypoint, relative to its working directory. */
export const COMPONENT_ENTRYPOINT = 'services/trainer/dist/components/main.js';

/** Options of {@link compilePipeline}. */
export interface KfpCompileOptions {
  /** Container image of the platform (the repository's Dockerfile). */
  image: string;
  /** Environment of every step's container (mode, project, lake...). No secrets: the spec is stored and shown. */
  env?: Readonly<Record<string, string>>;
  /** Resource limits of every step (default 4 vCPU, 16 GB). */
  resources?: { cpuLimit: string; memoryLimit: string };
  /** `defaultPipelineRoot` of the spec (the job's gcsOutputDirectory overrides it). */
  pipelineRoot?: string;
}

/** A KFP IR PipelineSpec as JSON. */
export type PipelineSpecJson = Record<string, JsonValue>;

/** The IR name of a task or component (`batch_predict` → `batch-predict`). */
export function kfpName(name: string): string {
  return name.replaceAll('_', '-');
}

function sortedObject<T>(entries: [string, T][]): Record<string, T> {
  return Object.fromEntries(entries.sort(([a], [b]) => a.localeCompare(b)));
}

function artifactType(spec: ArtifactSpec): Record<string, JsonValue> {
  return { artifactType: { schemaTitle: spec.type, schemaVersion: '0.0.1' }, description: spec.description };
}

function parameterDefinitions(parameters: Readonly<Record<string, ParameterSpec>>): Record<string, JsonValue> {
  return sortedObject(
    Object.entries(parameters).map(([name, spec]) => [
      name,
      { parameterType: spec.type, description: spec.description },
    ]),
  );
}

function artifactDefinitions(artifacts: Readonly<Record<string, ArtifactSpec>>): Record<string, JsonValue> {
  return sortedObject(Object.entries(artifacts).map(([name, spec]) => [name, artifactType(spec)]));
}

function definitions(
  parameters: Readonly<Record<string, ParameterSpec>>,
  artifacts: Readonly<Record<string, ArtifactSpec>>,
): Record<string, JsonValue> | undefined {
  const out: Record<string, JsonValue> = {};
  if (Object.keys(artifacts).length > 0) out.artifacts = artifactDefinitions(artifacts);
  if (Object.keys(parameters).length > 0) out.parameters = parameterDefinitions(parameters);
  return Object.keys(out).length > 0 ? out : undefined;
}

function componentSpec(io: ComponentInterface, executorLabel: string): Record<string, JsonValue> {
  const inputs = definitions(io.parameters, io.artifacts);
  const outputs = definitions(io.outputParameters, io.outputArtifacts);
  return {
    executorLabel,
    ...(inputs ? { inputDefinitions: inputs } : {}),
    ...(outputs ? { outputDefinitions: outputs } : {}),
  };
}

function parameterInput(binding: ParameterBinding): Record<string, JsonValue> {
  if (binding.kind === 'pipeline') return { componentInputParameter: binding.parameter };
  if (binding.kind === 'task')
    return { taskOutputParameter: { outputParameterKey: binding.output, producerTask: kfpName(binding.task) } };
  return { runtimeValue: { constant: binding.value } };
}

function artifactInput(binding: ArtifactBinding): Record<string, JsonValue> {
  return { taskOutputArtifact: { outputArtifactKey: binding.output, producerTask: kfpName(binding.task) } };
}

/** Compile a pipeline description to a PipelineSpec. */
export function compilePipeline(pipeline: PipelineDefinition, options: KfpCompileOptions): PipelineSpecJson {
  assertValidPipeline(pipeline);
  const components: [string, JsonValue][] = [];
  const executors: [string, JsonValue][] = [];
  const seen = new Set<string>();
  const tasks: [string, JsonValue][] = [];
  const env = Object.entries(options.env ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, value]) => ({ name, value }));
  const resources = options.resources ?? { cpuLimit: '4', memoryLimit: '16G' };

  for (const name of topologicalOrder(pipeline)) {
    const spec = pipeline.tasks[name]!;
    const component = spec.component;
    const componentKey = `comp-${kfpName(component.name)}`;
    const executorLabel = `exec-${kfpName(component.name)}`;
    if (!seen.has(componentKey)) {
      seen.add(componentKey);
      components.push([componentKey, componentSpec(component.io, executorLabel)]);
      executors.push([
        executorLabel,
        {
          container: {
            image: options.image,
            command: ['node', COMPONENT_ENTRYPOINT],
            args: [
              component.name,
              '--executor_input',
              '{{$}}',
              '--pipeline_job',
              '{{$.pipeline_job_name}}',
              '--task',
              '{{$.pipeline_task_name}}',
            ],
            ...(env.length > 0 ? { env } : {}),
            resources: { resourceCpuLimit: resources.cpuLimit, resourceMemoryLimit: resources.memoryLimit },
          },
        },
      ]);
    }
    const parameters = Object.entries(spec.parameters as Readonly<Record<string, ParameterBinding>>).map(
      ([input, binding]): [string, JsonValue] => [input, parameterInput(binding)],
    );
    const artifacts = Object.entries(spec.artifacts as Readonly<Record<string, ArtifactBinding>>).map(
      ([input, binding]): [string, JsonValue] => [input, artifactInput(binding)],
    );
    const inputs: Record<string, JsonValue> = {};
    if (artifacts.length > 0) inputs.artifacts = sortedObject(artifacts);
    if (parameters.length > 0) inputs.parameters = sortedObject(parameters);
    const upstream = upstreamOf(pipeline, name).map(kfpName).sort();
    tasks.push([
      kfpName(name),
      {
        cachingOptions: { enableCache: false },
        componentRef: { name: componentKey },
        ...(upstream.length > 0 ? { dependentTasks: upstream } : {}),
        ...(Object.keys(inputs).length > 0 ? { inputs } : {}),
        taskInfo: { name: kfpName(name) },
      },
    ]);
  }

  const rootParameters = sortedObject(
    Object.entries(pipeline.parameters).map(([name, parameter]): [string, JsonValue] => [
      name,
      {
        parameterType: parameter.type,
        description: parameter.description,
        ...(parameter.default === undefined ? {} : { defaultValue: parameter.default, isOptional: true }),
      },
    ]),
  );
  return {
    components: sortedObject(components),
    ...(options.pipelineRoot ? { defaultPipelineRoot: options.pipelineRoot } : {}),
    deploymentSpec: { executors: sortedObject(executors) },
    pipelineInfo: { name: pipeline.name, description: pipeline.description },
    root: {
      dag: { tasks: sortedObject(tasks) },
      ...(Object.keys(rootParameters).length > 0 ? { inputDefinitions: { parameters: rootParameters } } : {}),
    },
    schemaVersion: KFP_SCHEMA_VERSION,
    sdkVersion: KFP_SDK_VERSION,
  };
}

/** The spec as stored: pretty JSON with a trailing newline. */
export function specBytes(spec: PipelineSpecJson): string {
  return JSON.stringify(spec, null, 2) + '\n';
}

/**
 * Store a compiled spec in the lake under `mlops/pipelines/<name>/<sha256-prefix>.json` (content
 * addressed: every version ever submitted stays readable) and `.../latest.json`. Resolves to the
 * content-addressed key.
 */
export async function storePipelineSpec(objects: ObjectStore, spec: PipelineSpecJson): Promise<string> {
  const bytes = specBytes(spec);
  const name = String((spec.pipelineInfo as { name: string }).name);
  const key = `${PIPELINE_SPECS_PREFIX}/${name}/${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}.json`;
  await objects.putIfAbsent(key, bytes, { contentType: 'application/json' });
  await objects.put(`${PIPELINE_SPECS_PREFIX}/${name}/latest.json`, bytes, { contentType: 'application/json' });
  return key;
}
