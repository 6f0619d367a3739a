/** @mlops/adapters-gcp/credentials: the start-up check that Google credentials are present (gcp mode). */
export { assertGoogleCredentials } from './google-credentials.adapter.js';
