/**
 * Vertex AI in the rehearsal: the stand-in of `@mlops/gcp-standins` runs each PipelineJob's steps
 * as local processes of the step entrypoint (from its TypeScript source instead of the image's
 * `dist/`), as the pipeline steps' service account, and hands each job's terminal LogEntry to the
 * caller, which publishes it on `vertex-completions` as the deployment's log sink does.
 *
 * The steps reach BigQuery, Firestore and the lake through the same client libraries and stand-ins
 * as the services. Artifacts under the pipeline root go through the steps' `/gcs/` mount, as on
 * Vertex AI (Cloud Storage FUSE); here the mount is a folder of the work folder, since nothing but
 * the steps reads those files. The step records the trainer reads back go through the GCS API.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startVertexStandin, type StandinLog, type VertexStandin } from '@mlops/gcp-standins';
import { repoRoot } from '../../cli/src/stack/processes.js';
import type { RunProgress } from '../../cli/src/stack/wait.js';

const tsx = pathToFileURL(join(repoRoot, 'node_modules/tsx/dist/loader.mjs')).href;

/** The image the trainer compiles into the pipeline specs (its steps run from source here). */
export const REHEARSAL_IMAGE = 'europe-west1-docker.pkg.dev/mlops-rehearsal/mlops/platform:rehearsal';

/** The image's entrypoint of a pipeline step, as the compiled spec names it. */
const STEP_COMMAND = ['node', 'services/trainer/dist/components/main.js'];

/** Options of {@link startRehearsalVertex}. */
export interface RehearsalVertexOptions {
  projectId: string;
  region: string;
  /** The steps' environment (the container's own `env` from the spec comes on top). */
  env: Record<string, string>;
  /** The folder standing for `/gcs/`. */
  gcsMount: string;
  /** The log sink's job: publish the entry on `vertex-completions`. */
  onLogEntry: (entry: Record<string, unknown>) => Promise<void>;
  log: StandinLog;
}

/** Start the stand-in; a step whose command is not the platform's entrypoint fails its task. */
export function startRehearsalVertex(options: RehearsalVertexOptions): Promise<VertexStandin> {
  return startVertexStandin({
    projectId: options.projectId,
    location: options.region,
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...options.env },
    command: (container) => {
      if (container.command.join(' ') !== STEP_COMMAND.join(' '))
        throw new Error(
          `unexpected step command ${JSON.stringify(container.command)} (expected ${STEP_COMMAND.join(' ')})`,
        );
      return ['node', '--conditions=@mlops/source', '--import', tsx, 'services/trainer/src/components/main.ts'];
    },
    gcsMount: options.gcsMount,
    onLogEntry: options.onLogEntry,
    log: options.log,
  });
}

/** The trainer's stage in the ledger and the Vertex AI PipelineJobs that closed it (each must have ended). */
export function trainerCheck(result: {
  progress: RunProgress;
  vertexJobs: ReturnType<VertexStandin['jobs']>;
}): [boolean, string] {
  const stages = result.progress.runs.flatMap((run) => run.stages).filter((stage) => stage.stage === 'trainer');
  const statuses = [...new Set(stages.map((stage) => stage.status))].sort().join(', ') || 'none';
  const jobs = result.vertexJobs.map((job) => {
    const state = job.state.replace(/^PIPELINE_STATE_/, '').toLowerCase();
    return `${job.name.slice(job.name.lastIndexOf('/') + 1)} ${state} after ${job.tasks.length} task(s)`;
  });
  const ended = result.vertexJobs.every((job) => /SUCCEEDED|FAILED|CANCELLED/.test(job.state));
  return [
    stages.length > 0 && result.vertexJobs.length > 0 && ended && !stages.some((stage) => stage.status === 'running'),
    `trainer: ${stages.length} stage(s) ${statuses}; ${jobs.length} Vertex AI PipelineJob(s)${jobs.length ? `: ${jobs.join('; ')}` : ''}`,
  ];
}
