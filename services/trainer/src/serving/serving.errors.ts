/**
 * What the prediction server answers besides predictions: each error has a stable code, an HTTP
 * status and a message the caller can act on; the body is `{"error": {code, message, ...}}`.
 */

/** A refused request or a server not ready to answer. */
export class ServingError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    readonly details: Record<string, string | number> = {},
  ) {
    super(message);
    this.name = 'ServingError';
  }

  /** The JSON body of the answer. */
  toJSON(): { error: Record<string, string | number> } {
    return { error: { code: this.code, message: this.message, ...this.details } };
  }
}

/** The codes the server answers with. */
export const SERVING_CODES = {
  BAD_JSON: 'SERVING.BAD_JSON',
  BAD_REQUEST: 'SERVING.BAD_REQUEST',
  BAD_INSTANCE: 'SERVING.BAD_INSTANCE',
  BODY_TOO_LARGE: 'SERVING.BODY_TOO_LARGE',
  NOT_FOUND: 'SERVING.NOT_FOUND',
  METHOD_NOT_ALLOWED: 'SERVING.METHOD_NOT_ALLOWED',
  UNSUPPORTED_MEDIA_TYPE: 'SERVING.UNSUPPORTED_MEDIA_TYPE',
  MODEL_NOT_LOADED: 'SERVING.MODEL_NOT_LOADED',
} as const;

const C = SERVING_CODES;

/** Constructors of the server's answers. */
export const ServingErrors = {
  badJson: (why: string) => new ServingError(C.BAD_JSON, 400, `the request body is not valid JSON: ${why}`),
  badRequest: (why: string) => new ServingError(C.BAD_REQUEST, 400, why),
  badInstance: (index: number, why: string) =>
    new ServingError(C.BAD_INSTANCE, 400, `instance ${index} ${why}`, { instance: index }),
  badFeature: (index: number, feature: string, why: string) =>
    new ServingError(C.BAD_INSTANCE, 400, `instance ${index}: feature "${feature}" ${why}`, {
      instance: index,
      feature,
    }),
  bodyTooLarge: (limit: number) =>
    new ServingError(
      C.BODY_TOO_LARGE,
      413,
      `the request body exceeds ${limit} bytes; send fewer instances per request`,
      {
        limitBytes: limit,
      },
    ),
  notFound: (path: string, routes: readonly string[]) =>
    new ServingError(C.NOT_FOUND, 404, `no route ${path}; the server answers ${routes.join(' and ')}`),
  methodNotAllowed: (method: string, path: string, allowed: string) =>
    new ServingError(C.METHOD_NOT_ALLOWED, 405, `${method} ${path} is not allowed; use ${allowed}`),
  unsupportedMediaType: (type: string) =>
    new ServingError(C.UNSUPPORTED_MEDIA_TYPE, 415, `the request body must be application/json (got "${type}")`),
  modelNotLoaded: () =>
    new ServingError(C.MODEL_NOT_LOADED, 503, 'the model is not loaded yet; retry after the health check passes'),
} as const;
