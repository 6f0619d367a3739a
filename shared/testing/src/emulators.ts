// The emulator harness lives with the Google adapters (the CLI's `mlops stack up` starts the same emulators).
export {
  cloudSdkRoot,
  detectDocker,
  dockerSupport,
  emulatorSupport,
  freePort,
  skipWithoutEmulator,
  startContainer,
  startEmulator,
  uniqueProjectId,
  type ContainerSpec,
  type DockerSupport,
  type EmulatorKind,
  type EmulatorSupport,
  type RunningEmulator,
  type StartedContainer,
} from '@mlops/adapters-gcp/emulators';
