/**
 * One Vertex AI Pipelines step, as the container entrypoint (`components/main.ts`) runs it:
 *
 *   node services/trainer/dist/components/main.js <component> \
 *     --executor_input '{{$}}' --pipeline_job '{{$.pipeline_job_name}}' --task '{{$.pipeline_task_name}}'
 *
 * it builds the platform's ports from the environment the compiled spec gives the step, runs the
 * component and resolves to exit code 0, or 1 after recording the error where the trainer reads it.
 */
import { createLogger, errorCode, errorMessage, loadConfig, ModelRegistry, type Environment } from '@mlops/kernel';
import { createPlatform } from '@mlops/platform';
import { executeComponent, type ExecutorInput } from '../pipeline/kfp.executor.js';
import { COMPONENTS } from './index.js';
import { TrainerErrors } from '../errors.js';
import { kfpName } from '../pipeline/kfp.compiler.js';

/** The options of the entrypoint, from argv. */
export interface ComponentMainOptions {
  component: string;
  executorInput: ExecutorInput;
  jobId?: string;
  task?: string;
}

/** Parse `<component> --executor_input <json> [--pipeline_job <name>] [--task <name>]`. */
export function parseComponentArgs(argv: readonly string[]): ComponentMainOptions {
  const [component, ...rest] = argv;
  if (!component || !(component in COMPONENTS))
    throw TrainerErrors.unknownComponent(String(component), Object.keys(COMPONENTS));
  const flags = new Map<string, string>();
  for (let i = 0; i < rest.length; i += 2) flags.set(rest[i]!.replace(/^--/, ''), rest[i + 1] ?? '');
  const raw = flags.get('executor_input');
  if (!raw) throw TrainerErrors.invalidComponentIo(component, '--executor_input is required (the {{$}} placeholder)');
  let executorInput: ExecutorInput;
  try {
    executorInput = JSON.parse(raw) as ExecutorInput;
  } catch (error) {
    throw TrainerErrors.invalidComponentIo(component, `--executor_input is not JSON: ${errorMessage(error)}`);
  }
  const job = flags.get('pipeline_job');
  return {
    component,
    executorInput,
    ...(job ? { jobId: job.slice(job.lastIndexOf('/') + 1) } : {}),
    ...(flags.get('task') ? { task: flags.get('task')! } : {}),
  };
}

/** What `--help` prints: the command line Vertex AI runs, and the components. */
export function componentUsage(): string {
  return [
    'Usage: node services/trainer/dist/components/main.js <component> --executor_input <json>',
    '         [--pipeline_job <name>] [--task <name>]',
    '',
    'Runs one step of the churn pipeline as a Vertex AI Pipelines container does; the compiled',
    'KFP spec passes the placeholders ({{$}}, {{$.pipeline_job_name}}, {{$.pipeline_task_name}}).',
    `Components: ${Object.keys(COMPONENTS).join(', ')}.`,
  ].join('\n');
}

/** Run one step; resolves to the exit code. */
export async function runComponentMain(
  argv: readonly string[],
  env: Environment,
  out: (text: string) => void = (text) => process.stdout.write(`${text}\n`),
): Promise<number> {
  if (argv[0] === '--help' || argv[0] === '-h') {
    out(componentUsage());
    return 0;
  }
  const log = createLogger({ fields: { service: 'trainer' } });
  let options: ComponentMainOptions;
  try {
    options = parseComponentArgs(argv);
  } catch (error) {
    log.error(errorMessage(error), { code: errorCode(error) });
    return 1;
  }
  // The steps never pseudonymise; the configuration insists on a key outside local mode.
  const config = loadConfig({
    ...env,
    MLOPS_PII_HMAC_KEY: env.MLOPS_PII_HMAC_KEY ?? 'not-used-by-trainer-pipeline-steps',
  });
  const platform = await createPlatform(config, {
    service: 'trainer-step',
    log: log.child({ component: options.component, task: options.task ?? options.component }),
  });
  try {
    await executeComponent(COMPONENTS[options.component]!, options.executorInput, {
      // Where `gs://` artifacts are mounted: `/gcs` on Vertex, another folder under a stand-in.
      ...(env.MLOPS_GCS_MOUNT ? { gcsMount: env.MLOPS_GCS_MOUNT } : {}),
      deps: {
        warehouse: platform.warehouse,
        objects: platform.objects,
        registry: new ModelRegistry(platform.documents),
        log: platform.log,
      },
      ...(options.jobId
        ? {
            record: {
              objects: platform.objects,
              jobId: options.jobId,
              task: options.task ?? kfpName(options.component),
            },
          }
        : {}),
    });
    return 0;
  } catch (error) {
    platform.log.error(`step ${options.component} failed: ${errorMessage(error)}`, { code: errorCode(error) });
    return 1;
  } finally {
    await platform.close();
  }
}
