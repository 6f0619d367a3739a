/**
 * The gcloud emulators (Pub/Sub, Firestore) that `mlops stack up` starts, loaded on demand so that
 * a process that never starts them never loads the tooling.
 */
import type * as Emulators from '@mlops/adapters-gcp/emulators';

export async function emulatorTooling(): Promise<typeof Emulators> {
  return import('@mlops/adapters-gcp/emulators');
}
