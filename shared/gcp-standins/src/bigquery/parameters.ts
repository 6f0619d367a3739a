import type { ParameterReference } from '@mlops/adapters-local';
import { HttpError, NotImplementedError } from '../http/server.js';
import { quoteString } from './schema.js';

/** `QueryParameterType` of the REST API. */
export interface ParameterType {
  type: string;
  arrayType?: ParameterType;
  structTypes?: unknown[];
}

/** `QueryParameterValue` of the REST API (the client sends numbers and booleans as JSON too). */
export interface ParameterValue {
  value?: string | number | boolean | null;
  arrayValues?: ParameterValue[];
  structValues?: unknown;
}

/** `QueryParameter` of the REST API. */
export interface QueryParameter {
  name?: string;
  parameterType: ParameterType;
  parameterValue?: ParameterValue;
}

const SCALARS: Record<string, { duckdb: string; valid: RegExp; what: string }> = {
  STRING: { duckdb: 'VARCHAR', valid: /^[\s\S]*$/, what: 'STRING' },
  INT64: { duckdb: 'BIGINT', valid: /^[+-]?\d+$/, what: 'INT64' },
  FLOAT64: {
    duckdb: 'DOUBLE',
    valid: /^([+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?inf(inity)?|nan)$/i,
    what: 'FLOAT64',
  },
  BOOL: { duckdb: 'BOOLEAN', valid: /^(true|false)$/i, what: 'BOOL' },
  NUMERIC: { duckdb: 'DECIMAL(38, 9)', valid: /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/, what: 'NUMERIC' },
  DATE: { duckdb: 'DATE', valid: /^\d{4}-\d{1,2}-\d{1,2}$/, what: 'DATE' },
  TIMESTAMP: {
    duckdb: 'TIMESTAMPTZ',
    valid: /^\d{4}-\d{1,2}-\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?\s*(Z|UTC|[+-]\d{1,2}(:?\d{2})?)?$/i,
    what: 'TIMESTAMP',
  },
  JSON: { duckdb: 'JSON', valid: /^[\s\S]*$/, what: 'JSON' },
};
const ALIASES: Record<string, string> = { INTEGER: 'INT64', FLOAT: 'FLOAT64', BOOLEAN: 'BOOL' };

function scalarLiteral(type: string, value: ParameterValue | undefined, where: string): string {
  const scalar = SCALARS[ALIASES[type] ?? type];
  if (!scalar) throw new NotImplementedError(`query parameters of type ${type} (${where})`);
  const raw = value?.value;
  if (raw === undefined || raw === null) return `CAST(NULL AS ${scalar.duckdb})`;
  const text = String(raw);
  if (!scalar.valid.test(text.trim()))
    throw new HttpError(400, 'invalidQuery', `Invalid ${scalar.what} value for query parameter ${where}: ${text}`);
  // A timestamp without a zone is UTC in BigQuery; nanoseconds are more than either engine keeps.
  const normalised =
    type === 'TIMESTAMP'
      ? text
          .trim()
          .replace(/(\.\d{6})\d+/, '$1')
          .replace(/\s*UTC$/i, '+00')
      : text;
  return `CAST(${quoteString(normalised)} AS ${scalar.duckdb})`;
}

/** The DuckDB SQL of one parameter's value, typed exactly (a parenthesised CAST). */
export function parameterLiteral(parameter: QueryParameter, where: string): string {
  const type = parameter.parameterType?.type?.toUpperCase();
  if (!type) throw new HttpError(400, 'invalid', `query parameter ${where} has no parameterType.type`);
  if (type === 'ARRAY') {
    const elementType = parameter.parameterType.arrayType?.type?.toUpperCase();
    if (!elementType) throw new HttpError(400, 'invalid', `array parameter ${where} has no arrayType`);
    if (elementType === 'ARRAY' || elementType === 'STRUCT')
      throw new NotImplementedError(`query parameters of type ARRAY<${elementType}> (${where})`);
    const element = SCALARS[ALIASES[elementType] ?? elementType];
    if (!element) throw new NotImplementedError(`query parameters of type ARRAY<${elementType}> (${where})`);
    const values = parameter.parameterValue?.arrayValues;
    // An array parameter with no value is an empty array (BigQuery has no NULL arrays).
    const items = (values ?? []).map((item, index) => {
      if (item?.value === undefined || item.value === null)
        throw new HttpError(400, 'invalidQuery', `Array parameter ${where} cannot have a null element (${index})`);
      return scalarLiteral(elementType, item, `${where}[${index}]`);
    });
    return `(CAST([${items.join(', ')}] AS ${element.duckdb}[]))`;
  }
  return `(${scalarLiteral(type, parameter.parameterValue, where)})`;
}

/**
 * Bind a query's parameters for the translator: each reference to the literal of its parameter.
 * Named mode needs every `@name` among the parameters; positional mode one parameter per `?`.
 */
export function parameterBinder(
  mode: string | undefined,
  parameters: readonly QueryParameter[] | undefined,
): (reference: ParameterReference) => string {
  const list = parameters ?? [];
  const named = new Map<string, QueryParameter>();
  const upper = mode?.toUpperCase();
  if (list.length > 0 && upper !== 'NAMED' && upper !== 'POSITIONAL')
    throw new HttpError(400, 'invalid', 'queryParameters need parameterMode NAMED or POSITIONAL');
  if (upper === 'NAMED') {
    for (const parameter of list) {
      if (!parameter.name) throw new HttpError(400, 'invalid', 'a NAMED query parameter has no name');
      named.set(parameter.name.toLowerCase(), parameter);
    }
  }
  return (reference) => {
    if ('name' in reference) {
      if (upper !== 'NAMED')
        throw new HttpError(
          400,
          'invalidQuery',
          `Query parameter '${reference.name}' not found (parameterMode is not NAMED)`,
        );
      const parameter = named.get(reference.name.toLowerCase());
      if (!parameter) throw new HttpError(400, 'invalidQuery', `Query parameter '${reference.name}' not found`);
      return parameterLiteral(parameter, `@${reference.name}`);
    }
    if (upper !== 'POSITIONAL')
      throw new HttpError(400, 'invalidQuery', 'Positional parameters are not allowed in NAMED parameter mode');
    const parameter = list[reference.position - 1];
    if (!parameter)
      throw new HttpError(
        400,
        'invalidQuery',
        `No value for positional parameter ${reference.position} (${list.length} given)`,
      );
    return parameterLiteral(parameter, `?${reference.position}`);
  };
}
