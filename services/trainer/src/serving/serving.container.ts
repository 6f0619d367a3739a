/**
 * The serving container of a registered model: the platform image running the prediction server,
 * in the shape of Vertex AI's `ModelContainerSpec`. Vertex AI gives the server the port and routes
 * named here as `AIP_HTTP_PORT`, `AIP_HEALTH_ROUTE` and `AIP_PREDICT_ROUTE`, and copies the
 * version's model folder to `AIP_STORAGE_URI`.
 */
import type { ServingContainer } from '@mlops/kernel';

/** The server's entrypoint in the image (compiled JavaScript, plain node). */
export const SERVING_ENTRYPOINT = 'services/trainer/dist/serving/main.js';

/** Port and routes the server uses when Vertex AI does not set them (also what the spec names). */
export const SERVING_DEFAULTS = { port: 8080, healthRoute: '/health', predictRoute: '/predict' } as const;

/** The file of a version's model folder that the server loads (the refit that batch prediction scores with). */
export const SERVED_MODEL_FILE = 'model.json';

/** The serving container of a model version built into `image`. */
export function servingContainer(image: string): ServingContainer {
  return {
    imageUri: image,
    command: ['node', SERVING_ENTRYPOINT],
    ports: [{ containerPort: SERVING_DEFAULTS.port }],
    healthRoute: SERVING_DEFAULTS.healthRoute,
    predictRoute: SERVING_DEFAULTS.predictRoute,
  };
}
