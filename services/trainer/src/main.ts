/**
 * The trainer as its own process: configuration, platform, trainer, hosted on the bus (local:
 * the embedded bus; emulator/gcp: Pub/Sub pull, or Eventarc over HTTP with MLOPS_TRANSPORT=http).
 * `MLOPS_IMAGE` is the container image the Vertex AI pipeline steps run (gcp). A bad setting exits
 * 1 naming it; SIGTERM/SIGINT stop it gracefully (exit 0).
 */
import { createLogger, errorCode, errorMessage } from '@mlops/kernel';
import { runServiceMain } from '@mlops/platform';
import { trainerFromPlatform } from './compose.js';

runServiceMain(
  'trainer',
  (platform) => trainerFromPlatform(platform, process.env.MLOPS_IMAGE ? { image: process.env.MLOPS_IMAGE } : {}),
  process.env,
).catch((error: unknown) => {
  createLogger({ sink: (line) => process.stderr.write(line + '\n') }).error(
    `trainer failed to start: ${errorMessage(error)}`,
    {
      service: 'trainer',
      code: errorCode(error),
      setting: (error as { setting?: unknown }).setting,
    },
  );
  process.exit(1);
});
