/** @mlops/adapters-gcp/emulators: The gcloud emulators (Pub/Sub, Firestore) and the Docker fallback that runs them: `mlops stack up` and the tests. */
export {
  cloudSdkRoot,
  emulatorSupport,
  freePort,
  skipWithoutEmulator,
  startEmulator,
  uniqueProjectId,
  type EmulatorKind,
  type EmulatorSupport,
  type RunningEmulator,
} from './tooling/gcloud-emulators.js';
export {
  detectDocker,
  dockerSupport,
  startContainer,
  type ContainerSpec,
  type DockerSupport,
  type StartedContainer,
} from './tooling/docker-engine.js';
