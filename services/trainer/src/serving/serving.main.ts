/**
 * The prediction server's flow: options from the environment, listen (health 503), load the
 * model from `AIP_STORAGE_URI` through the object store port, serve (health 200). A bad setting or
 * a model that cannot be loaded resolves to exit code 1 with the reason logged; SIGTERM and SIGINT
 * stop the server (exit 0).
 */
import { createLogger, errorCode, errorMessage, type Environment, type Logger, type ObjectStore } from '@mlops/kernel';
import { openObjectStore } from '@mlops/platform';
import { fileURLToPath } from 'node:url';
import { loadServedModel } from './served-model.js';
import { startPredictionServer, type PredictionServer } from './prediction.server.js';
import { servingOptions } from './serving.options.js';

/** The object store rooted at a model folder: GCS for `gs://`, the file system otherwise. */
export async function modelFolderStore(uri: string, env: Environment): Promise<ObjectStore> {
  if (uri.startsWith('gs://')) {
    const project = env.GOOGLE_CLOUD_PROJECT ?? env.AIP_PROJECT_NUMBER;
    return openObjectStore(uri.replace(/\/+$/, ''), {
      ...(project ? { projectId: project } : {}),
      ...(env.STORAGE_EMULATOR_HOST ? { emulatorHost: env.STORAGE_EMULATOR_HOST } : {}),
    });
  }
  return openObjectStore(uri.startsWith('file://') ? fileURLToPath(uri) : uri);
}

/** Start serving; resolves to the running server, or to an exit code when it could not start. */
export async function startServing(
  env: Environment,
  log: Logger = createLogger({ fields: { service: 'serving' } }),
): Promise<PredictionServer | number> {
  let server: PredictionServer | undefined;
  try {
    const options = servingOptions(env);
    server = await startPredictionServer(options, log);
    log.info(
      `prediction server listening on ${options.host}:${server.port}; loading the model from ${options.storageUri}`,
    );
    const model = await loadServedModel(await modelFolderStore(options.storageUri, env));
    server.serve(model);
    log.info(
      `prediction server ready: ${model.kind} model of ${model.featureNames.length} features; GET ${options.healthRoute}, POST ${options.predictRoute}`,
    );
    return server;
  } catch (error) {
    log.error(`prediction server failed to start: ${errorMessage(error)}`, {
      code: errorCode(error),
      setting: (error as { setting?: unknown }).setting,
    });
    await server?.close();
    return 1;
  }
}
