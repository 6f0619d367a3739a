/**
 * Run one component inside a Vertex AI Pipelines step, following the KFP v2 executor contract:
 * the `ExecutorInput` (the `{{$}}` placeholder) gives the input parameter values, the input
 * artifacts' URIs, the output artifacts' URIs and the file the `ExecutorOutput` goes to. Cloud
 * Storage URIs are read and written through the `/gcs/` mount Vertex gives every step. The step
 * also records its outputs (or its error) in the lake, where the trainer reads them back.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { type ObjectStore, errorCode, errorMessage, classifyError } from '@mlops/kernel';
import type {
  ArtifactInput,
  ArtifactOutput,
  Component,
  ComponentDeps,
  ComponentInterface,
  JsonValue,
} from '../components/component.js';
import { matchesType } from '../components/component.js';
import { TrainerErrors, asPlatformError } from '../errors.js';
import { runRecordKey } from './runner.port.js';
import type { StepErrorRecord } from './vertex.runner.js';

/** One runtime artifact of the executor contract. */
export interface RuntimeArtifact {
  name?: string;
  uri: string;
  metadata?: Record<string, JsonValue>;
  type?: { schemaTitle?: string };
}

/** The `ExecutorInput` message as JSON. */
export interface ExecutorInput {
  inputs?: {
    parameterValues?: Record<string, JsonValue>;
    artifacts?: Record<string, { artifacts?: RuntimeArtifact[] }>;
  };
  outputs?: {
    parameters?: Record<string, { outputFile: string }>;
    artifacts?: Record<string, { artifacts?: RuntimeArtifact[] }>;
    outputFile?: string;
  };
}

/** The `ExecutorOutput` message as JSON. */
export interface ExecutorOutput {
  parameterValues: Record<string, JsonValue>;
  artifacts: Record<string, { artifacts: RuntimeArtifact[] }>;
}

/** Reads and writes the files behind artifact URIs (the local file system by default). */
export interface ArtifactFiles {
  read(path: string): Promise<Buffer>;
  write(path: string, bytes: Uint8Array | string): Promise<void>;
}

const localFiles: ArtifactFiles = {
  read: (path) => readFile(path),
  write: async (path, bytes) => {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, bytes);
  },
};

/**
 * The local path of an artifact URI: `gs://bucket/key` is `/gcs/bucket/key` in a Vertex step (the
 * Cloud Storage mount; another mount folder where a stand-in runs the step).
 */
export function localPathOf(uri: string, gcsMount = '/gcs'): string {
  if (uri.startsWith('gs://')) return `${gcsMount.replace(/\/$/, '')}/${uri.slice('gs://'.length)}`;
  if (uri.startsWith('file://')) return new URL(uri).pathname;
  return uri;
}

/** Where the step records its outcome. */
export interface StepRecord {
  objects: ObjectStore;
  /** The PipelineJob id (the last segment of `{{$.pipeline_job_name}}`). */
  jobId: string;
  /** The IR task name (`{{$.pipeline_task_name}}`). */
  task: string;
}

/** Run a component from its ExecutorInput; writes the ExecutorOutput and the lake record. */
export async function executeComponent(
  component: Component<ComponentInterface>,
  input: ExecutorInput,
  options: { deps: ComponentDeps; record?: StepRecord; files?: ArtifactFiles; gcsMount?: string },
): Promise<ExecutorOutput> {
  const files = options.files ?? localFiles;
  const pathOf = (uri: string) => localPathOf(uri, options.gcsMount);
  try {
    const params: Record<string, JsonValue> = {};
    for (const [name, spec] of Object.entries(component.io.parameters)) {
      const value = input.inputs?.parameterValues?.[name];
      if (!matchesType(spec.type, value))
        throw TrainerErrors.invalidComponentIo(
          component.name,
          `input ${name} must be a ${spec.type} (got ${JSON.stringify(value)?.slice(0, 80)})`,
        );
      params[name] = value!;
    }
    const artifacts: Record<string, ArtifactInput> = {};
    for (const name of Object.keys(component.io.artifacts)) {
      const uri = input.inputs?.artifacts?.[name]?.artifacts?.[0]?.uri;
      if (!uri) throw TrainerErrors.invalidComponentIo(component.name, `input artifact ${name} has no URI`);
      artifacts[name] = { uri, read: () => files.read(pathOf(uri)) };
    }
    const produced: Record<string, RuntimeArtifact> = {};
    const outputs: Record<string, ArtifactOutput> = {};
    for (const name of Object.keys(component.io.outputArtifacts)) {
      const runtime = input.outputs?.artifacts?.[name]?.artifacts?.[0];
      if (!runtime?.uri) throw TrainerErrors.invalidComponentIo(component.name, `output artifact ${name} has no URI`);
      outputs[name] = {
        uri: runtime.uri,
        write: async (bytes, metadata) => {
          await files.write(pathOf(runtime.uri), bytes);
          produced[name] = {
            ...(runtime.name ? { name: runtime.name } : {}),
            uri: runtime.uri,
            metadata: { ...(runtime.metadata ?? {}), ...(metadata ?? {}) },
          };
        },
      };
    }
    const values = (await component.run({ params, artifacts, outputs } as never, options.deps)) as Record<
      string,
      JsonValue
    >;
    for (const [name, spec] of Object.entries(component.io.outputParameters)) {
      if (!matchesType(spec.type, values[name]))
        throw TrainerErrors.invalidComponentIo(component.name, `output ${name} must be a ${spec.type}`);
    }
    for (const name of Object.keys(component.io.outputArtifacts)) {
      if (!produced[name])
        throw TrainerErrors.invalidComponentIo(component.name, `output artifact ${name} was not written`);
    }
    const output: ExecutorOutput = {
      parameterValues: values,
      artifacts: Object.fromEntries(
        Object.entries(produced).map(([name, artifact]) => [name, { artifacts: [artifact] }]),
      ),
    };
    if (input.outputs?.outputFile) await files.write(pathOf(input.outputs.outputFile), JSON.stringify(output));
    if (options.record) {
      await options.record.objects.put(
        runRecordKey(options.record.jobId, options.record.task, 'outputs.json'),
        JSON.stringify(values),
        { contentType: 'application/json' },
      );
    }
    return output;
  } catch (thrown) {
    const error = asPlatformError(thrown);
    if (options.record) {
      const record: StepErrorRecord = {
        code: errorCode(error),
        message: errorMessage(error).slice(0, 2000),
        errorClass: classifyError(error),
      };
      await options.record.objects
        .put(runRecordKey(options.record.jobId, options.record.task, 'error.json'), JSON.stringify(record), {
          contentType: 'application/json',
        })
        .catch(() => undefined);
    }
    throw error;
  }
}
