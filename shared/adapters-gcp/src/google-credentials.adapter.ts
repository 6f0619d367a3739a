import { GoogleAuth } from 'google-auth-library';
import { ConfigError, errorMessage } from '@mlops/kernel';

/**
 * Check, before any Google client is created, that Application Default Credentials can be found:
 * `GOOGLE_APPLICATION_CREDENTIALS`, the file `gcloud auth application-default login` writes, or the
 * metadata server of Cloud Run / Compute Engine. Without this a client fails later in a background
 * promise with an unhandled `NO_ADC_FOUND` and a stack trace; here it is a {@link ConfigError}
 * naming what is missing, which the entry points turn into one message and exit code 1. No token
 * is fetched.
 */
export async function assertGoogleCredentials(): Promise<void> {
  try {
    await new GoogleAuth({ scopes: ['https://www.googleapis.com/auth/cloud-platform'] }).getClient();
  } catch (error) {
    const file = process.env.GOOGLE_APPLICATION_CREDENTIALS;
    throw new ConfigError(
      'GOOGLE_APPLICATION_CREDENTIALS',
      file
        ? `gcp mode needs Google credentials, and the file it names (${file}) cannot be used: ${errorMessage(error)}`
        : 'gcp mode needs Google credentials and no Application Default Credentials were found: set ' +
            'GOOGLE_APPLICATION_CREDENTIALS to a service-account key file, run `gcloud auth application-default login`, ' +
            'or run on Google Cloud (Cloud Run, Compute Engine), whose metadata server provides them',
    );
  }
}
