/**
 * The transform runner of a configured platform: the DuckDB runner in local and emulator modes, the
 * Dataform API runner in gcp mode. For composition roots; SDKs load only in the mode that uses them.
 */
import { join, resolve } from 'node:path';
import { DuckDbTransformRunner } from '@mlops/adapters-local';
import { ConfigError, type PlatformConfig, type TransformRunner, type WarehouseAccess } from '@mlops/kernel';
import type { DataformApiTransformRunnerOptions } from '@mlops/adapters-gcp/dataform';

/** The Dataform project of this checkout (`<repo>/dataform`). */
export const DEFAULT_DATAFORM_PROJECT = resolve(import.meta.dirname, '..', '..', '..', 'dataform');

/** Options of {@link createTransformRunner}. */
export interface TransformRunnerFactoryOptions {
  config: PlatformConfig;
  /** The warehouse the DuckDB runner builds in (local, emulator): `platform.warehouse`. */
  warehouse?: WarehouseAccess;
  /** The Dataform project folder (default: this checkout's `dataform/`). */
  projectDir?: string;
  /** gcp: row counts of the built tables (the Dataform API reports none), read through the warehouse port. */
  countRows?: DataformApiTransformRunnerOptions['countRows'];
}

/**
 * Build the runner the configuration asks for. In gcp mode it needs `DATAFORM_REPOSITORY` (a
 * repository name, or its full `projects/.../repositories/...` path), and compiles
 * `DATAFORM_WORKSPACE` when set, else `DATAFORM_GIT_COMMITISH`; the invocation runs as
 * `MLOPS_SERVICE_ACCOUNT`, and the bronze external tables read `MLOPS_LAKE`.
 */
export async function createTransformRunner(options: TransformRunnerFactoryOptions): Promise<TransformRunner> {
  const { config } = options;
  const projectDir = options.projectDir ?? DEFAULT_DATAFORM_PROJECT;
  if (config.mode !== 'gcp') {
    if (!options.warehouse)
      throw new ConfigError(
        'MLOPS_WAREHOUSE_PATH',
        `the ${config.mode} mode transforms on DuckDB: pass the warehouse to createTransformRunner`,
      );
    return new DuckDbTransformRunner({
      projectDir,
      lakeRoot: config.lake.root,
      warehouse: options.warehouse,
      cacheDir: join(config.home, 'cache', 'dataform'),
      ...(config.transformer.memoryLimit ? { largeRunMemoryLimit: config.transformer.memoryLimit } : {}),
      // A hand-built configuration may leave the threads out: the runner's default, auto.
      ...(config.transformer.threads === undefined ? {} : { threads: config.transformer.threads }),
    });
  }
  const repositoryName = config.gcp.dataformRepository;
  if (!repositoryName)
    throw new ConfigError(
      'DATAFORM_REPOSITORY',
      'is required in gcp mode (the Dataform repository holding this project)',
    );
  const repository = repositoryName.startsWith('projects/')
    ? repositoryName
    : `projects/${config.gcp.projectId}/locations/${config.gcp.region}/repositories/${repositoryName}`;
  const { DataformApiTransformRunner, createDataformClient } = await import('@mlops/adapters-gcp/dataform');
  const client = await createDataformClient({
    projectId: config.gcp.projectId,
    ...(config.gcp.dataformApiEndpoint ? { apiEndpoint: config.gcp.dataformApiEndpoint } : {}),
  });
  return new DataformApiTransformRunner({
    client,
    repository,
    ...(config.gcp.dataformWorkspace
      ? {
          workspace: config.gcp.dataformWorkspace.includes('/')
            ? config.gcp.dataformWorkspace
            : `${repository}/workspaces/${config.gcp.dataformWorkspace}`,
        }
      : { gitCommitish: config.gcp.dataformGitCommitish }),
    ...(config.gcp.serviceAccount ? { serviceAccount: config.gcp.serviceAccount } : {}),
    defaultDatabase: config.gcp.projectId,
    vars: { lake_uri: config.lake.root },
    ...(options.countRows ? { countRows: options.countRows } : {}),
  });
}
