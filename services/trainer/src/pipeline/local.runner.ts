/**
 * The in-process pipeline runner (local and emulator modes): tasks run one at a time in dependency
 * order; parameters pass in memory; artifacts pass in memory, or through the lake under
 * `mlops/pipeline-runs/<runKey>/<task>/<artifact>` when `keepArtifacts` is set (to inspect a run).
 * Every input and output is checked against the component's declared types.
 */
import type { ArtifactInput, ArtifactOutput, ComponentDeps, JsonValue } from '../components/component.js';
import { matchesType } from '../components/component.js';
import { TrainerErrors, asPlatformError } from '../errors.js';
import { assertValidPipeline, topologicalOrder, type PipelineDefinition } from './dag.js';
import { runRecordKey, type PipelineRunRequest, type PipelineRunner, type RawRunResult } from './runner.port.js';

/** Options of {@link LocalPipelineRunner}. */
export interface LocalPipelineRunnerOptions {
  deps: ComponentDeps;
  /** Write artifacts to the lake instead of keeping them in memory. */
  keepArtifacts?: boolean;
}

/** Root parameter values with defaults filled in and types checked. */
export function resolveParameters(
  pipeline: PipelineDefinition,
  given: Readonly<Record<string, JsonValue>>,
): Record<string, JsonValue> {
  const problems: string[] = [];
  const out: Record<string, JsonValue> = {};
  for (const name of Object.keys(given)) if (!pipeline.parameters[name]) problems.push(`unknown parameter ${name}`);
  for (const [name, spec] of Object.entries(pipeline.parameters)) {
    const value = given[name] ?? spec.default;
    if (value === undefined) problems.push(`parameter ${name} has no value and no default`);
    else if (!matchesType(spec.type, value))
      problems.push(`parameter ${name} must be a ${spec.type} (got ${JSON.stringify(value).slice(0, 80)})`);
    else out[name] = value;
  }
  if (problems.length > 0) throw TrainerErrors.invalidPipeline(pipeline.name, problems);
  return out;
}

/** Let every component check the parameters known before the run (fail before reading data). */
export function preflight(pipeline: PipelineDefinition, parameters: Readonly<Record<string, JsonValue>>): void {
  for (const spec of Object.values(pipeline.tasks)) {
    const known: Record<string, JsonValue> = {};
    for (const [input, binding] of Object.entries(spec.parameters)) {
      if (binding.kind === 'pipeline' && parameters[binding.parameter] !== undefined)
        known[input] = parameters[binding.parameter]!;
      else if (binding.kind === 'constant') known[input] = binding.value;
    }
    try {
      spec.component.preflight(known);
    } catch (error) {
      throw asPlatformError(error);
    }
  }
}

/** Runs a pipeline's components in this process. */
export class LocalPipelineRunner implements PipelineRunner {
  readonly kind = 'local' as const;

  constructor(private readonly options: LocalPipelineRunnerOptions) {}

  async run(request: PipelineRunRequest): Promise<RawRunResult> {
    const { pipeline, runKey } = request;
    assertValidPipeline(pipeline);
    const parameters = resolveParameters(pipeline, request.parameters);
    const { deps } = this.options;
    const memory = new Map<string, Buffer>();
    const outputs = new Map<string, Readonly<Record<string, unknown>>>();
    const artifactUris = new Map<string, string>();
    const result: RawRunResult = { pipeline: pipeline.name, runKey, tasks: {} };
    preflight(pipeline, parameters);

    const order = topologicalOrder(pipeline);
    // The last task reading each artifact: once it has run, the artifact leaves memory.
    const lastReader = new Map<string, string>();
    for (const name of order)
      for (const binding of Object.values(pipeline.tasks[name]!.artifacts))
        lastReader.set(`${binding.task}/${binding.output}`, name);

    for (const name of order) {
      const spec = pipeline.tasks[name]!;
      const component = spec.component;
      const params: Record<string, unknown> = {};
      for (const [input, binding] of Object.entries(spec.parameters)) {
        const value =
          binding.kind === 'pipeline'
            ? parameters[binding.parameter]
            : binding.kind === 'task'
              ? outputs.get(binding.task)?.[binding.output]
              : binding.value;
        if (value === undefined || !matchesType(component.io.parameters[input]!.type, value)) {
          throw TrainerErrors.invalidComponentIo(
            component.name,
            `input ${input} must be a ${component.io.parameters[input]!.type} (got ${JSON.stringify(value)?.slice(0, 80)})`,
          );
        }
        params[input] = value;
      }
      const artifacts: Record<string, ArtifactInput> = {};
      for (const [input, binding] of Object.entries(spec.artifacts)) {
        const uri = artifactUris.get(`${binding.task}/${binding.output}`);
        if (uri === undefined)
          throw TrainerErrors.invalidComponentIo(
            component.name,
            `input artifact ${input} was not produced by ${binding.task}`,
          );
        artifacts[input] = { uri, read: () => this.read(uri, memory) };
      }
      const written = new Set<string>();
      const outputArtifacts: Record<string, ArtifactOutput> = {};
      for (const output of Object.keys(component.io.outputArtifacts)) {
        const uri = this.options.keepArtifacts
          ? runRecordKey(runKey, name, output)
          : `memory://${runKey}/${name}/${output}`;
        artifactUris.set(`${name}/${output}`, uri);
        outputArtifacts[output] = {
          uri,
          write: async (bytes) => {
            // Not copied: a component hands over what it wrote (a training set can be a gigabyte).
            const buffer =
              typeof bytes === 'string'
                ? Buffer.from(bytes)
                : Buffer.isBuffer(bytes)
                  ? bytes
                  : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
            if (this.options.keepArtifacts) await deps.objects.put(uri, buffer);
            else memory.set(uri, buffer);
            written.add(output);
          },
        };
      }
      const started = performance.now();
      const log = (request.log ?? deps.log).child({ task: name, pipeline: pipeline.name, runKey });
      let produced: Readonly<Record<string, unknown>>;
      try {
        produced = await component.invoke({ params, artifacts, outputs: outputArtifacts }, { ...deps, log });
      } catch (error) {
        throw asPlatformError(error);
      }
      for (const output of Object.keys(component.io.outputArtifacts)) {
        if (!written.has(output))
          throw TrainerErrors.invalidComponentIo(component.name, `output artifact ${output} was not written`);
      }
      outputs.set(name, produced);
      for (const [artifact, reader] of lastReader) if (reader === name) memory.delete(artifactUris.get(artifact) ?? '');
      result.tasks[name] = { outputs: produced, durationMs: Math.round(performance.now() - started) };
    }
    return result;
  }

  private async read(uri: string, memory: Map<string, Buffer>): Promise<Buffer> {
    if (uri.startsWith('memory://')) {
      const bytes = memory.get(uri);
      if (!bytes) throw TrainerErrors.invalidArtifact(uri, 'it was never written');
      return bytes;
    }
    return this.options.deps.objects.get(uri);
  }
}
