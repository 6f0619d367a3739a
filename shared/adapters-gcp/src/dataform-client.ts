import type { DataformApiClient } from './dataform-api-runner.adapter.js';

/**
 * The Dataform API client of a project: on Google's endpoint, or over REST on `apiEndpoint`
 * (`http://host:port`, a stand-in: `DATAFORM_API_ENDPOINT`), the transport the client offers over
 * plain http. Loaded on demand: only the gcp mode needs it.
 */
export async function createDataformClient(options: {
  projectId: string;
  apiEndpoint?: string;
}): Promise<DataformApiClient> {
  const { DataformClient } = (await import('@google-cloud/dataform')).v1;
  const endpoint = options.apiEndpoint ? new URL(options.apiEndpoint) : undefined;
  return new DataformClient({
    projectId: options.projectId,
    ...(endpoint
      ? {
          fallback: true,
          apiEndpoint: endpoint.hostname,
          port: Number(endpoint.port || (endpoint.protocol === 'http:' ? 80 : 443)),
          protocol: endpoint.protocol.slice(0, -1),
        }
      : {}),
  } as ConstructorParameters<typeof DataformClient>[0]) as unknown as DataformApiClient;
}
