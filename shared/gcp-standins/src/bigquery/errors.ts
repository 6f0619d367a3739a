import { TranslationError } from '@mlops/adapters-local';
import { HttpError, NotImplementedError } from '../http/server.js';

/** BigQuery's error reasons by HTTP status, for errors raised as `{reason, message}`. */
export const STATUS_OF_REASON: Record<string, number> = {
  notFound: 404,
  duplicate: 409,
  invalidQuery: 400,
  invalid: 400,
  resourceInUse: 400,
  notImplemented: 501,
  internalError: 500,
  backendError: 500,
};

/**
 * A failure as BigQuery reports it. DuckDB's error classes map to BigQuery's reasons: a missing
 * table or schema is `notFound` (404), an existing one `duplicate` (409), anything DuckDB refuses
 * about the statement or its data `invalidQuery` (400). SQL the translation cannot carry, and
 * features DuckDB lacks, are the stand-in's limits: 501.
 */
export function bigQueryError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof TranslationError) return new NotImplementedError(`this SQL (translation: ${error.message})`);
  const message = error instanceof Error ? error.message : String(error);
  if (/^Catalog Error:.*\b(does not exist|not found)/is.test(message))
    return new HttpError(404, 'notFound', `Not found: ${message}`);
  if (/^Catalog Error:.*already exists/is.test(message))
    return new HttpError(409, 'duplicate', `Already Exists: ${message}`);
  if (/^Not implemented Error/i.test(message)) return new NotImplementedError(`this statement on DuckDB: ${message}`);
  if (/^INTERNAL Error/i.test(message)) return new HttpError(500, 'backendError', message);
  return new HttpError(400, 'invalidQuery', message);
}

/** An error as a job's `status.errorResult` / `status.errors[]` entry. */
export function errorProto(error: HttpError): Record<string, unknown> {
  return { reason: error.reason, location: 'query', message: error.message };
}
