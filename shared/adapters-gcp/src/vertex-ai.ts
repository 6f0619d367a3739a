/** @mlops/adapters-gcp/vertex-ai: Vertex AI Pipelines and Model Registry clients (the trainer in gcp mode). */
export {
  VertexModelRegistry,
  VertexPipelineJobs,
  fromProtoStruct,
  fromProtoValue,
  pipelineStateName,
  toProtoStruct,
  toProtoValue,
  vertexCallError,
  type VertexModelRegistryOptions,
  type VertexPipelineJobsOptions,
} from './vertex-ai.adapter.js';
export {
  createVertexAiClients,
  type VertexModelClient,
  type VertexOperation,
  type VertexPipelineClient,
} from './vertex-ai.clients.js';
