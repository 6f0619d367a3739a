// The emulator harness lives in the library (the CLI's `mlops stack up` starts the same emulators).
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
} from '@mlops/shared/gcp';
