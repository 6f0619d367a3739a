/**
 * PipelineJobs of the Vertex stand-in, run as KFP's local SubprocessRunner runs a pipeline: the
 * root DAG's tasks in topological order, each executor's command and args as a child process with
 * its `ExecutorInput` (`{{$}}` and the other placeholders resolved), output parameters passed on to
 * the tasks that read them. A task that exits non-zero fails the job; the tasks after it do not run.
 * Jobs run one at a time, in the order they were created.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StandinLog } from '../http/server.js';
import type { CheckedSpec, ContainerExecutor, SpecTask } from './pipeline-spec.js';

/** `PipelineState` numbers (the REST client asks for enums as numbers). */
export const PIPELINE_STATE = {
  QUEUED: 1,
  PENDING: 2,
  RUNNING: 3,
  SUCCEEDED: 4,
  FAILED: 5,
  CANCELLING: 6,
  CANCELLED: 7,
} as const;

/** `PipelineTaskDetail.State` numbers. */
const TASK_STATE = { RUNNING: 2, SUCCEEDED: 3, FAILED: 7, CANCELLED: 6 } as const;

const STATE_NAMES = Object.fromEntries(
  Object.entries(PIPELINE_STATE).map(([name, number]) => [number, `PIPELINE_STATE_${name}`]),
) as Record<number, string>;

/** The `PipelineState` name of a number. */
export function pipelineStateName(state: number): string {
  return STATE_NAMES[state] ?? 'PIPELINE_STATE_UNSPECIFIED';
}

const TERMINAL = new Set<number>([PIPELINE_STATE.SUCCEEDED, PIPELINE_STATE.FAILED, PIPELINE_STATE.CANCELLED]);

/** Whether a state is final. */
export function isTerminal(state: number): boolean {
  return TERMINAL.has(state);
}

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** One task's record, as `jobDetail.taskDetails[]` shows it. */
interface TaskDetail {
  taskId: string;
  taskName: string;
  state: number;
  startTime: string;
  endTime?: string;
  error?: { code: number; message: string };
}

/** A PipelineJob as the stand-in keeps it. */
export interface PipelineJobRecord {
  name: string;
  id: string;
  displayName: string;
  pipelineSpec: Record<string, unknown>;
  spec: CheckedSpec;
  labels: Record<string, string>;
  gcsOutputDirectory: string;
  parameterValues: Record<string, Json>;
  serviceAccount?: string;
  state: number;
  createTime: string;
  updateTime: string;
  startTime?: string;
  endTime?: string;
  error?: { code: number; message: string };
  tasks: TaskDetail[];
  child?: ChildProcess;
}

/** How the steps run. */
export interface StepRunOptions {
  /** Working directory of every step process (the image's working directory). */
  cwd: string;
  /** Environment of every step (under the container's own `env` from the spec). */
  env: Record<string, string>;
  /** The argv prefix that stands for a container's `command` (default: the command itself). */
  command?: (container: ContainerExecutor) => string[];
  /** Local folder standing for the `/gcs/` mount: a `gs://b/k` artifact is `<gcsMount>/b/k`. */
  gcsMount: string;
  /** Where executor output files go. */
  workDir: string;
  /** The project number in artifact paths, as Vertex writes them. */
  projectNumber: string;
  taskTimeoutMs: number;
  log: StandinLog;
  /** Called after every state change of a job. */
  changed: (job: PipelineJobRecord) => Promise<void>;
}

function now(): string {
  return new Date().toISOString();
}

function readJsonFile(path: string): Json | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Json;
  } catch {
    return undefined;
  }
}

/** What a finished task left for the tasks after it. */
interface TaskOutputs {
  parameters: Record<string, Json>;
  artifacts: Record<string, { name: string; uri: string; metadata: Json; type: { schemaTitle: string } }>;
}

/** Run a job to its end; resolves when it is SUCCEEDED, FAILED or CANCELLED. */
export async function executeJob(job: PipelineJobRecord, options: StepRunOptions): Promise<void> {
  if (job.state !== PIPELINE_STATE.PENDING) return;
  job.state = PIPELINE_STATE.RUNNING;
  job.startTime = now();
  job.updateTime = job.startTime;
  await options.changed(job);
  // A cancel request changes the state while the tasks run.
  const state = (): number => job.state;
  const outputs = new Map<string, TaskOutputs>();
  let failure: { task: string; message: string } | undefined;
  for (const task of job.spec.tasks) {
    if (state() !== PIPELINE_STATE.RUNNING) break;
    const detail: TaskDetail = {
      taskId: String(Date.now()) + randomUUID().slice(0, 4),
      taskName: task.name,
      state: TASK_STATE.RUNNING,
      startTime: now(),
    };
    job.tasks.push(detail);
    try {
      outputs.set(task.name, await runTask(job, task, detail, outputs, options));
      detail.state = TASK_STATE.SUCCEEDED;
    } catch (error) {
      const message = (error as Error).message;
      detail.state = state() === PIPELINE_STATE.CANCELLING ? TASK_STATE.CANCELLED : TASK_STATE.FAILED;
      detail.error = { code: 9, message };
      failure = { task: task.name, message };
    }
    detail.endTime = now();
    if (failure) break;
  }
  job.endTime = now();
  job.updateTime = job.endTime;
  delete job.child;
  if (state() === PIPELINE_STATE.CANCELLING) {
    job.state = PIPELINE_STATE.CANCELLED;
    job.error = { code: 1, message: 'CANCELLED: the pipeline job was cancelled.' };
  } else if (failure) {
    job.state = PIPELINE_STATE.FAILED;
    job.error = {
      code: 9,
      message: `The DAG failed because some tasks failed. The failed tasks are: [${failure.task}].; Job (job_id = ${job.id}) is failed due to the above error.; ${failure.message}`,
    };
  } else job.state = PIPELINE_STATE.SUCCEEDED;
  await options.changed(job);
}

async function runTask(
  job: PipelineJobRecord,
  task: SpecTask,
  detail: TaskDetail,
  upstream: ReadonlyMap<string, TaskOutputs>,
  options: StepRunOptions,
): Promise<TaskOutputs> {
  const taskRoot = `${job.gcsOutputDirectory.replace(/\/$/, '')}/${options.projectNumber}/${job.id}/${task.name}_${detail.taskId}`;
  const localDir = join(options.workDir, job.id, task.name);
  mkdirSync(join(localDir, 'outputs'), { recursive: true });
  const parameterValues: Record<string, Json> = {};
  for (const [input, source] of Object.entries(task.parameters)) {
    if (source.kind === 'constant') parameterValues[input] = source.value;
    else if (source.kind === 'root') {
      const value = job.parameterValues[source.parameter];
      if (value !== undefined) parameterValues[input] = value;
    } else {
      const value = upstream.get(source.task)?.parameters[source.output];
      if (value === undefined)
        throw new Error(`task ${source.task} produced no output parameter ${source.output} for ${task.name}.${input}`);
      parameterValues[input] = value;
    }
  }
  const artifacts: Record<string, { artifacts: Json[] }> = {};
  for (const [input, source] of Object.entries(task.artifacts)) {
    const artifact = upstream.get(source.task)?.artifacts[source.output];
    if (!artifact)
      throw new Error(`task ${source.task} produced no artifact ${source.output} for ${task.name}.${input}`);
    artifacts[input] = { artifacts: [artifact] };
  }
  const outputArtifacts = Object.fromEntries(
    Object.entries(task.outputArtifacts).map(([name, schemaTitle]) => [
      name,
      { name, uri: `${taskRoot}/${name}`, metadata: {}, type: { schemaTitle } },
    ]),
  );
  const outputFile = join(localDir, 'executor_output.json');
  const executorInput = {
    inputs: { parameterValues, artifacts },
    outputs: {
      parameters: Object.fromEntries(
        Object.keys(task.outputParameters).map((name) => [name, { outputFile: join(localDir, 'outputs', name) }]),
      ),
      artifacts: Object.fromEntries(
        Object.entries(outputArtifacts).map(([name, artifact]) => [name, { artifacts: [artifact] }]),
      ),
      outputFile,
    },
  };
  const values: Record<string, string> = {
    '{{$}}': JSON.stringify(executorInput),
    '{{$.pipeline_job_name}}': job.id,
    '{{$.pipeline_job_resource_name}}': job.name,
    '{{$.pipeline_job_uuid}}': job.id,
    '{{$.pipeline_task_name}}': task.name,
    '{{$.pipeline_task_uuid}}': detail.taskId,
    '{{$.pipeline_root}}': job.gcsOutputDirectory,
  };
  const resolve = (arg: string) => arg.replace(/\{\{\$[^}]*\}\}/g, (found) => values[found] ?? found);
  const prefix = options.command ? options.command(task.executor) : task.executor.command;
  const argv = [...prefix.map(resolve), ...task.executor.args.map(resolve)];
  await runProcess(job, argv, options, task);

  const written = readJsonFile(outputFile) as
    | { parameterValues?: Record<string, Json>; artifacts?: Record<string, { artifacts?: { metadata?: Json }[] }> }
    | undefined;
  const parameters: Record<string, Json> = {};
  for (const name of Object.keys(task.outputParameters)) {
    const value = written?.parameterValues?.[name] ?? readJsonFile(join(localDir, 'outputs', name));
    if (value === undefined) throw new Error(`task ${task.name} exited 0 but wrote no output parameter ${name}`);
    parameters[name] = value;
  }
  const produced: TaskOutputs['artifacts'] = {};
  for (const [name, artifact] of Object.entries(outputArtifacts))
    produced[name] = { ...artifact, metadata: written?.artifacts?.[name]?.artifacts?.[0]?.metadata ?? {} };
  return { parameters, artifacts: produced };
}

function runProcess(job: PipelineJobRecord, argv: string[], options: StepRunOptions, task: SpecTask): Promise<void> {
  const [file, ...args] = argv;
  return new Promise<void>((resolve, reject) => {
    const child = spawn(file!, args, {
      cwd: options.cwd,
      env: { ...options.env, ...task.executor.env, MLOPS_GCS_MOUNT: options.gcsMount },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    job.child = child;
    let tail = '';
    const keep = (chunk: Buffer) => {
      tail = (tail + chunk.toString('utf8')).slice(-4000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => child.kill('SIGKILL'), options.taskTimeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`task ${task.name} could not start ${file}: ${error.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve();
      options.log({
        severity: 'INFO',
        standin: 'vertex',
        message: `task ${task.name} of ${job.id} ended ${signal ?? `with exit code ${code}`}`,
        output: tail,
      });
      const last = tail.trim().split('\n').slice(-3).join('\n');
      reject(
        new Error(`task ${task.name} ${signal ? `was stopped (${signal})` : `exited with code ${code}`}: ${last}`),
      );
    });
  });
}
