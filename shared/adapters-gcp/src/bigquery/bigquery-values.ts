/**
 * The one place where BigQuery values meet JavaScript: query results in the REST encoding
 * (`rows[].f[].v`, strings) decoded into the warehouse port's values exactly as the DuckDB adapter
 * gives them (dates `YYYY-MM-DD`, timestamps ISO 8601, integers as numbers while exact, else their
 * digits), and port parameters encoded as typed BigQuery query parameters (never spliced into SQL).
 */
import { PermanentError, type QueryParams, type WarehouseColumns, type WarehouseValue } from '@mlops/kernel';

/** A field of a result schema, as the REST API gives it (legacy type names included). */
export interface BigQueryField {
  name: string;
  type: string;
  mode?: string;
  fields?: BigQueryField[];
}

/** One encoded cell: `{ v }`, where `v` is a string, null, a list of cells or a record. */
export interface BigQueryCell {
  v: unknown;
}

/** One encoded row. */
export interface BigQueryRow {
  f: BigQueryCell[];
}

function decodeTimestamp(v: string): string {
  // int64 microseconds (formatOptions.useInt64Timestamp), or float seconds from older encodings.
  const millis = /^-?\d+$/.test(v) ? Number(BigInt(v) / 1000n) : Number(v) * 1000;
  return new Date(millis).toISOString();
}

function decodeScalar(field: BigQueryField, v: unknown): WarehouseValue {
  if (v === null || v === undefined) return null;
  switch (field.type.toUpperCase()) {
    case 'INTEGER':
    case 'INT64': {
      const text = String(v);
      const number = Number(text);
      return Number.isSafeInteger(number) ? number : text;
    }
    case 'FLOAT':
    case 'FLOAT64':
    case 'NUMERIC':
    case 'BIGNUMERIC':
      return Number(v);
    case 'BOOLEAN':
    case 'BOOL':
      return v === true || v === 'true';
    case 'TIMESTAMP':
      return decodeTimestamp(String(v));
    case 'RECORD':
    case 'STRUCT': {
      const cells = (v as BigQueryRow).f;
      const out: Record<string, WarehouseValue> = {};
      (field.fields ?? []).forEach((inner, index) => {
        out[inner.name] = decodeValue(inner, cells[index]?.v);
      });
      return out;
    }
    default:
      // STRING, DATE, TIME, DATETIME, JSON, BYTES (base64), GEOGRAPHY: as BigQuery writes them.
      return String(v);
  }
}

/** Decode one cell of a field (a REPEATED field is a list of cells; NULL reads as `[]` as on BigQuery). */
export function decodeValue(field: BigQueryField, v: unknown): WarehouseValue {
  if (field.mode === 'REPEATED') {
    if (!Array.isArray(v)) return [];
    return (v as BigQueryCell[]).map((cell) => decodeScalar(field, cell.v));
  }
  return decodeScalar(field, v);
}

/** Accumulates result pages into columns (rows are built from columns only when asked). */
export class ColumnsBuilder {
  private readonly fields: BigQueryField[];
  readonly columns: WarehouseValue[][];
  rowCount = 0;

  constructor(fields: readonly BigQueryField[]) {
    this.fields = [...fields];
    this.columns = this.fields.map(() => []);
  }

  add(rows: readonly BigQueryRow[]): void {
    for (const row of rows) {
      for (let c = 0; c < this.fields.length; c += 1) this.columns[c]!.push(decodeValue(this.fields[c]!, row.f[c]?.v));
      this.rowCount += 1;
    }
  }

  result(): WarehouseColumns {
    return { names: this.fields.map((field) => field.name), columns: this.columns, rowCount: this.rowCount };
  }
}

/** Rows keyed by column name, from columns. */
export function rowsOfColumns<T>(result: WarehouseColumns): T[] {
  const rows: T[] = new Array(result.rowCount);
  for (let r = 0; r < result.rowCount; r += 1) {
    const row: Record<string, WarehouseValue> = {};
    result.names.forEach((name, c) => {
      row[name] = result.columns[c]![r]!;
    });
    rows[r] = row as T;
  }
  return rows;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** A scalar parameter type, or `[element]` for an array. */
type ParameterType = string | [string];

function scalarType(value: WarehouseValue, where: string): string | undefined {
  if (value === null) return undefined;
  if (typeof value === 'string') return DATE.test(value) ? 'DATE' : 'STRING';
  if (typeof value === 'bigint') return 'INT64';
  if (typeof value === 'boolean') return 'BOOL';
  if (value instanceof Date) return 'TIMESTAMP';
  if (typeof value === 'number') return Number.isInteger(value) ? 'INT64' : 'FLOAT64';
  throw new PermanentError(
    'WAREHOUSE.PARAMETER_UNSUPPORTED',
    `parameter ${where} is a ${Array.isArray(value) ? 'nested array' : 'record'}; BigQuery parameters here are scalars or arrays of scalars`,
  );
}

function typeOf(value: WarehouseValue, where: string): ParameterType {
  if (!Array.isArray(value)) return scalarType(value, where) ?? 'STRING';
  const types = new Set(value.map((item, index) => scalarType(item, `${where}[${index}]`)));
  types.delete(undefined);
  // Whole and fractional numbers together are FLOAT64; date-shaped and other strings together are
  // STRING; an empty (or all-null) array is ARRAY<STRING>.
  if (types.has('INT64') && types.has('FLOAT64')) types.delete('INT64');
  if (types.has('DATE') && types.has('STRING')) types.delete('DATE');
  if (types.size > 1)
    throw new PermanentError(
      'WAREHOUSE.PARAMETER_UNSUPPORTED',
      `parameter ${where} mixes element types (${[...types].join(', ')}); BigQuery arrays hold one type`,
    );
  return [([...types][0] as string | undefined) ?? 'STRING'];
}

function textOf(value: WarehouseValue): string | undefined {
  if (value === null) return undefined;
  if (value instanceof Date) return value.toISOString();
  return String(value);
}

/** A query parameter in the REST shape of `configuration.query.queryParameters`. */
export interface QueryParameter {
  name?: string;
  parameterType: { type: string; arrayType?: { type: string } };
  parameterValue: { value?: string; arrayValues?: { value: string }[] };
}

function parameterOf(value: WarehouseValue, where: string, name?: string): QueryParameter {
  const type = typeOf(value, where);
  if (!Array.isArray(type)) {
    const text = textOf(value);
    return {
      ...(name === undefined ? {} : { name }),
      parameterType: { type },
      parameterValue: text === undefined ? {} : { value: text },
    };
  }
  const items = value as WarehouseValue[];
  return {
    ...(name === undefined ? {} : { name }),
    parameterType: { type: 'ARRAY', arrayType: { type: type[0] } },
    parameterValue: {
      arrayValues: items.map((item, index) => {
        const text = textOf(item);
        if (text === undefined)
          throw new PermanentError(
            'WAREHOUSE.PARAMETER_UNSUPPORTED',
            `parameter ${where}[${index}] is null; BigQuery arrays cannot hold nulls`,
          );
        return { value: text };
      }),
    },
  };
}

/** Typed parameters of a query job: `parameterMode` and `queryParameters` as the REST API takes them. */
export interface EncodedParams {
  parameterMode: 'POSITIONAL' | 'NAMED';
  queryParameters: QueryParameter[];
}

/**
 * Encode the port's parameters. Types come from the values: a string shaped `YYYY-MM-DD` is a
 * DATE (so a list of dates compares with a DATE column; DuckDB casts such a string the same way),
 * other strings STRING (BigQuery coerces a STRING parameter to TIMESTAMP where one is expected),
 * whole numbers INT64 (coerced to FLOAT64), other numbers FLOAT64, bigints INT64, booleans BOOL,
 * `Date`s TIMESTAMP, arrays ARRAY of their elements' type (no nulls inside). A null is a NULL
 * STRING: write `cast(? as int64)` where another type is meant.
 */
export function encodeParams(params: QueryParams | undefined): EncodedParams | undefined {
  if (params === undefined) return undefined;
  if (Array.isArray(params)) {
    const list = params as readonly WarehouseValue[];
    if (list.length === 0) return undefined;
    return {
      parameterMode: 'POSITIONAL',
      queryParameters: list.map((value, index) => parameterOf(value, `${index + 1}`)),
    };
  }
  const named = Object.entries(params as Record<string, WarehouseValue>);
  if (named.length === 0) return undefined;
  return {
    parameterMode: 'NAMED',
    queryParameters: named.map(([name, value]) => parameterOf(value, `@${name}`, name)),
  };
}
