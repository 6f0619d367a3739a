/**
 * How the trainer runs a pipeline: in-process (local, emulator) or on Vertex AI Pipelines (gcp).
 * Runners work on the JSON wire form (parameters and outputs as JSON values); `run-result.ts`
 * gives callers the typed form.
 */
import type { Logger } from '@mlops/kernel';
import type { JsonValue } from '../components/component.js';
import type { PipelineDefinition } from './dag.js';

/** One run of a pipeline. */
export interface PipelineRunRequest {
  pipeline: PipelineDefinition;
  /** Root parameter values; missing ones take their defaults. */
  parameters: Readonly<Record<string, JsonValue>>;
  /**
   * Deterministic key of the run (derived from the triggering event), `[a-z][-a-z0-9]*`: the
   * Vertex job id, and the lake folder of the run's artifacts when they are kept.
   */
  runKey: string;
  /** Labels of the run (Vertex labels; the run id among them). */
  labels?: Readonly<Record<string, string>>;
  /** Where the run logs (the triggering event's logger); default the runner's. */
  log?: Logger;
}

/** What one task produced, as it came over the wire. */
export interface RawTaskResult {
  outputs: Readonly<Record<string, unknown>>;
  durationMs: number;
}

/** What a run produced, as it came over the wire (`decodeRunResult` checks and types it). */
export interface RawRunResult {
  pipeline: string;
  runKey: string;
  /** Output parameters of every task that ran, by task name. */
  tasks: Record<string, RawTaskResult>;
  /** The Vertex AI PipelineJob resource name (gcp). */
  job?: string;
}

/** Runs pipelines. */
export interface PipelineRunner {
  readonly kind: 'local' | 'vertex';
  run(request: PipelineRunRequest): Promise<RawRunResult>;
}

/** Lake prefix of the records of pipeline runs (outputs of each task, errors). */
export const PIPELINE_RUNS_PREFIX = 'mlops/pipeline-runs';

/** Lake prefix of the compiled pipeline specs. */
export const PIPELINE_SPECS_PREFIX = 'mlops/pipelines';

/** `mlops/pipeline-runs/<runKey>/<task>/<file>`. */
export function runRecordKey(runKey: string, task: string, file: string): string {
  return `${PIPELINE_RUNS_PREFIX}/${runKey}/${task}/${file}`;
}

/** How a submitted job stands: still running, or its result, or its error (the step's, when one failed). */
export type PipelineJobProgress =
  | { state: 'running'; job: string }
  | { state: 'succeeded'; job: string; result: RawRunResult }
  | { state: 'failed'; job: string; error: Error };

/** A runner that submits a job and acknowledges; the job's completion arrives later (Vertex AI, gcp). */
export interface AsyncPipelineRunner extends PipelineRunner {
  /** The job's resource name for a run key. */
  jobName(runKey: string): string;
  /** Submit the run; a job of the same key already there is adopted, not started again. */
  submit(request: PipelineRunRequest): Promise<{ job: string; adopted: boolean }>;
  read(job: string, pipeline: PipelineDefinition, runKey: string): Promise<PipelineJobProgress>;
  cancel(job: string): Promise<void>;
}

/** Whether a runner submits without waiting. */
export function isAsyncPipelineRunner(runner: PipelineRunner): runner is AsyncPipelineRunner {
  return (
    'submit' in runner && typeof runner.submit === 'function' && 'read' in runner && typeof runner.read === 'function'
  );
}
