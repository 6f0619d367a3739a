/**
 * The prediction server's settings, from the environment Vertex AI gives a custom container
 * (`AIP_*`), plus the listen address and body limit. Parsed by a function of `env` so tests pass
 * their own; a bad value is a `ConfigError` naming the variable.
 */
import { ConfigError, type Environment } from '@mlops/kernel';
import { SERVING_DEFAULTS } from './serving.container.js';

/** Vertex AI's online prediction requests are at most 1.5 MB; batch prediction's batches fit in 10 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024;

export interface ServingOptions {
  /** Address to listen on: all interfaces on Vertex AI (it fronts the container). */
  host: string;
  port: number;
  healthRoute: string;
  predictRoute: string;
  /** The model folder: `gs://bucket/path` on Vertex AI, a local folder or `file://` URI locally. */
  storageUri: string;
  /** Larger request bodies are refused with 413. */
  maxBodyBytes: number;
}

function text(env: Environment, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

function integer(env: Environment, name: string, fallback: number, min: number, max: number): number {
  const raw = text(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max)
    throw new ConfigError(name, `must be an integer from ${min} to ${max} (got "${raw}")`);
  return value;
}

function route(env: Environment, name: string, fallback: string): string {
  const value = text(env, name) ?? fallback;
  if (!/^\/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$/.test(value))
    throw new ConfigError(name, `must be an absolute URL path such as ${fallback} (got "${value}")`);
  return value;
}

/** The server's options from the environment. */
export function servingOptions(env: Environment): ServingOptions {
  const storageUri = text(env, 'AIP_STORAGE_URI');
  if (!storageUri)
    throw new ConfigError(
      'AIP_STORAGE_URI',
      "is required: the model version's folder (gs://... on Vertex AI, a local folder locally)",
    );
  const healthRoute = route(env, 'AIP_HEALTH_ROUTE', SERVING_DEFAULTS.healthRoute);
  const predictRoute = route(env, 'AIP_PREDICT_ROUTE', SERVING_DEFAULTS.predictRoute);
  if (healthRoute === predictRoute)
    throw new ConfigError('AIP_PREDICT_ROUTE', `must differ from AIP_HEALTH_ROUTE (both "${healthRoute}")`);
  return {
    host: text(env, 'MLOPS_SERVING_HOST') ?? '0.0.0.0',
    port: integer(env, 'AIP_HTTP_PORT', SERVING_DEFAULTS.port, 0, 65_535),
    healthRoute,
    predictRoute,
    storageUri,
    maxBodyBytes: integer(env, 'MLOPS_SERVING_MAX_BODY_BYTES', DEFAULT_MAX_BODY_BYTES, 1024, 256 * 1024 * 1024),
  };
}
