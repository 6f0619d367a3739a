/**
 * The Vertex AI clients of `@google-cloud/aiplatform`, as the few methods the adapters call, and
 * their construction.
 */
import type { protos } from '@google-cloud/aiplatform';

type IPipelineJob = protos.google.cloud.aiplatform.v1.IPipelineJob;
type IModel = protos.google.cloud.aiplatform.v1.IModel;

/** The methods of `PipelineServiceClient` (v1) that {@link VertexPipelineJobs} calls. */
export interface VertexPipelineClient {
  createPipelineJob(
    request: protos.google.cloud.aiplatform.v1.ICreatePipelineJobRequest,
  ): Promise<[IPipelineJob, ...unknown[]]>;
  getPipelineJob(
    request: protos.google.cloud.aiplatform.v1.IGetPipelineJobRequest,
  ): Promise<[IPipelineJob, ...unknown[]]>;
  cancelPipelineJob(request: protos.google.cloud.aiplatform.v1.ICancelPipelineJobRequest): Promise<unknown>;
}

/** A long-running operation as the client returns it. */
export interface VertexOperation<T> {
  promise(): Promise<[T, ...unknown[]]>;
}

/** The methods of `ModelServiceClient` (v1) that {@link VertexModelRegistry} calls. */
export interface VertexModelClient {
  getModel(request: protos.google.cloud.aiplatform.v1.IGetModelRequest): Promise<[IModel, ...unknown[]]>;
  listModelVersionsAsync(
    request: protos.google.cloud.aiplatform.v1.IListModelVersionsRequest,
    options?: { autoPaginate?: boolean },
  ): AsyncIterable<IModel>;
  uploadModel(
    request: protos.google.cloud.aiplatform.v1.IUploadModelRequest,
  ): Promise<[VertexOperation<protos.google.cloud.aiplatform.v1.IUploadModelResponse>, ...unknown[]]>;
  mergeVersionAliases(
    request: protos.google.cloud.aiplatform.v1.IMergeVersionAliasesRequest,
  ): Promise<[IModel, ...unknown[]]>;
}

/**
 * The real clients, on the region's endpoint, or over REST on `apiEndpoint` (`http://host:port`, a
 * stand-in: `VERTEX_API_ENDPOINT`). Loaded on demand: the embedded mode never needs them.
 */
export async function createVertexAiClients(options: {
  projectId: string;
  region: string;
  apiEndpoint?: string;
}): Promise<{ pipelines: VertexPipelineClient; models: VertexModelClient }> {
  const { v1 } = await import('@google-cloud/aiplatform');
  const endpoint = options.apiEndpoint ? new URL(options.apiEndpoint) : undefined;
  const clientOptions = endpoint
    ? {
        projectId: options.projectId,
        fallback: true,
        apiEndpoint: endpoint.hostname,
        port: Number(endpoint.port || (endpoint.protocol === 'http:' ? 80 : 443)),
        protocol: endpoint.protocol.slice(0, -1),
      }
    : { projectId: options.projectId, apiEndpoint: `${options.region}-aiplatform.googleapis.com` };
  return {
    pipelines: new v1.PipelineServiceClient(
      clientOptions as ConstructorParameters<typeof v1.PipelineServiceClient>[0],
    ) as unknown as VertexPipelineClient,
    models: new v1.ModelServiceClient(
      clientOptions as ConstructorParameters<typeof v1.ModelServiceClient>[0],
    ) as unknown as VertexModelClient,
  };
}
