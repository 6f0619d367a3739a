/**
 * The trainer's code version: the package version plus a hash of the code that runs (the
 * TypeScript sources, or the compiled JavaScript in the image), so two builds that could train
 * differently never share a fingerprint (and a registry version). The GBDT package's own code
 * version is part of it.
 */
import { gbdtCodeVersion, sourceCodeVersion } from '@mlops/gbdt';

/** `trainer@<package version>+<first 12 hex of the sources' SHA-256>`. */
export async function trainerCodeVersion(): Promise<string> {
  return sourceCodeVersion('trainer', import.meta.url, [await gbdtCodeVersion()]);
}
