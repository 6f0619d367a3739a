import {
  DuckDBTypeId,
  type DuckDBDecimalType,
  type DuckDBListType,
  type DuckDBStructType,
  type DuckDBType,
  type DuckDBValue,
} from '@duckdb/node-api';
import { HttpError, NotImplementedError } from '../http/server.js';

/** A column of a BigQuery schema (`TableFieldSchema`). */
export interface TableField {
  name: string;
  type: string;
  mode?: 'NULLABLE' | 'REQUIRED' | 'REPEATED';
  fields?: TableField[];
  description?: string;
}

/** How TIMESTAMP values are written (`formatOptions`): int64 microseconds, ISO text, or float seconds. */
export type TimestampFormat = 'int64' | 'iso' | 'float';

/** A result row as the API sends it: `{"f": [{"v": ...}, ...]}`. */
export interface EncodedRow {
  f: { v: unknown }[];
}

const INTEGERS = new Set<DuckDBTypeId>([
  DuckDBTypeId.TINYINT,
  DuckDBTypeId.SMALLINT,
  DuckDBTypeId.INTEGER,
  DuckDBTypeId.BIGINT,
  DuckDBTypeId.UTINYINT,
  DuckDBTypeId.USMALLINT,
  DuckDBTypeId.UINTEGER,
  DuckDBTypeId.UBIGINT,
  DuckDBTypeId.HUGEINT,
  DuckDBTypeId.UHUGEINT,
  DuckDBTypeId.SQLNULL,
]);
const TIMESTAMPS = new Set<DuckDBTypeId>([
  DuckDBTypeId.TIMESTAMP_TZ,
  DuckDBTypeId.TIMESTAMP,
  DuckDBTypeId.TIMESTAMP_S,
  DuckDBTypeId.TIMESTAMP_MS,
  DuckDBTypeId.TIMESTAMP_NS,
]);
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * NUMERIC is DECIMAL(38, 9), which is what the translation makes of it, and DuckDB keeps the
 * width 38 through ROUND and products (with other scales). DuckDB reads a literal such as `1.5` as
 * a narrow DECIMAL where BigQuery reads FLOAT64, so a narrower DECIMAL is FLOAT. (Loads type the
 * decimals of files themselves.)
 */
function isNumeric(type: DuckDBDecimalType): boolean {
  return type.width === 38;
}

/**
 * The BigQuery type of a DuckDB column, named as the REST API names types in schemas (INTEGER,
 * FLOAT, BOOLEAN, RECORD). DuckDB timestamps without a zone are instants in UTC here, as in the
 * translation (which maps TIMESTAMP to TIMESTAMPTZ and refuses DATETIME).
 */
export function fieldOf(name: string, type: DuckDBType, required = false): TableField {
  const mode = required ? 'REQUIRED' : 'NULLABLE';
  if (type.typeId === DuckDBTypeId.LIST || type.typeId === DuckDBTypeId.ARRAY) {
    const element = (type as DuckDBListType).valueType;
    if (element.typeId === DuckDBTypeId.LIST || element.typeId === DuckDBTypeId.ARRAY)
      throw new HttpError(400, 'invalidQuery', `Cannot have nested arrays: column ${name} is ${type.toString()}`);
    return { ...fieldOf(name, element), mode: 'REPEATED' };
  }
  if (type.typeId === DuckDBTypeId.STRUCT) {
    const struct = type as DuckDBStructType;
    return {
      name,
      type: 'RECORD',
      mode,
      fields: struct.entryNames.map((entry, index) => fieldOf(entry, struct.entryTypes[index]!)),
    };
  }
  return { name, type: scalarTypeOf(name, type), mode };
}

function scalarTypeOf(name: string, type: DuckDBType): string {
  if (INTEGERS.has(type.typeId)) return 'INTEGER';
  if (TIMESTAMPS.has(type.typeId)) return 'TIMESTAMP';
  switch (type.typeId) {
    case DuckDBTypeId.BOOLEAN:
      return 'BOOLEAN';
    case DuckDBTypeId.FLOAT:
    case DuckDBTypeId.DOUBLE:
      return 'FLOAT';
    case DuckDBTypeId.DECIMAL:
      return isNumeric(type as DuckDBDecimalType) ? 'NUMERIC' : 'FLOAT';
    case DuckDBTypeId.VARCHAR:
      return type.alias?.toUpperCase() === 'JSON' ? 'JSON' : 'STRING';
    case DuckDBTypeId.ENUM:
    case DuckDBTypeId.UUID:
      return 'STRING';
    case DuckDBTypeId.BLOB:
      return 'BYTES';
    case DuckDBTypeId.DATE:
      return 'DATE';
    case DuckDBTypeId.TIME:
      return 'TIME';
  }
  throw new NotImplementedError(`DuckDB type ${type.toString()} of column ${name} as a BigQuery type`);
}

/**
 * The DuckDB type that holds exactly what the column's BigQuery type holds (INTEGER: BIGINT,
 * NUMERIC: DECIMAL(38, 9), TIMESTAMP: TIMESTAMPTZ), so that arithmetic on stored data behaves as
 * in BigQuery (an INT32 from a Parquet file overflows where an INT64 would not).
 */
export function canonicalTypeOf(field: TableField): string {
  const scalar = (): string => {
    switch (field.type) {
      case 'INTEGER':
      case 'INT64':
        return 'BIGINT';
      case 'FLOAT':
      case 'FLOAT64':
        return 'DOUBLE';
      case 'BOOLEAN':
      case 'BOOL':
        return 'BOOLEAN';
      case 'NUMERIC':
        return 'DECIMAL(38, 9)';
      case 'STRING':
        return 'VARCHAR';
      case 'JSON':
        return 'JSON';
      case 'BYTES':
        return 'BLOB';
      case 'DATE':
        return 'DATE';
      case 'TIME':
        return 'TIME';
      case 'TIMESTAMP':
        return 'TIMESTAMPTZ';
      case 'RECORD':
      case 'STRUCT':
        return `STRUCT(${(field.fields ?? []).map((inner) => `${quoteIdentifier(inner.name)} ${canonicalTypeOf(inner)}`).join(', ')})`;
    }
    throw new NotImplementedError(`BigQuery type ${field.type} (field ${field.name})`);
  };
  return field.mode === 'REPEATED' ? `${scalar()}[]` : scalar();
}

/** A DuckDB identifier, double-quoted. */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** A DuckDB string literal. */
export function quoteString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** Encode one DuckDB row as the API's `{"f": [{"v": ...}]}`, strings for every scalar. */
export function encodeRow(
  values: readonly DuckDBValue[],
  fields: readonly TableField[],
  timestamps: TimestampFormat,
): EncodedRow {
  return { f: fields.map((field, index) => ({ v: encodeField(values[index] ?? null, field, timestamps) })) };
}

function encodeField(value: DuckDBValue, field: TableField, timestamps: TimestampFormat): unknown {
  if (field.mode === 'REPEATED') {
    // BigQuery has no NULL arrays: they read as empty ones.
    if (value === null) return [];
    const items = (value as { items: readonly DuckDBValue[] }).items;
    return items.map((item) => {
      if (item === null) throw new HttpError(400, 'invalidQuery', `Array ${field.name} cannot have a null element`);
      return { v: encodeScalar(item, field, timestamps) };
    });
  }
  return value === null ? null : encodeScalar(value, field, timestamps);
}

function encodeScalar(value: DuckDBValue, field: TableField, timestamps: TimestampFormat): unknown {
  switch (field.type) {
    case 'RECORD': {
      const entries = (value as { entries: Readonly<Record<string, DuckDBValue>> }).entries;
      return encodeRow(
        field.fields!.map((inner) => entries[inner.name] ?? null),
        field.fields!,
        timestamps,
      );
    }
    case 'INTEGER': {
      const integer = BigInt(value as bigint | number);
      if (integer < INT64_MIN || integer > INT64_MAX)
        throw new HttpError(400, 'invalidQuery', `Integer overflow: ${integer} in column ${field.name}`);
      return integer.toString();
    }
    case 'FLOAT':
      return String(value as number);
    case 'BOOLEAN':
      return value ? 'true' : 'false';
    case 'NUMERIC':
      return trimDecimal(String(value));
    case 'BYTES':
      return Buffer.from((value as { bytes: Uint8Array }).bytes).toString('base64');
    case 'TIMESTAMP':
      return encodeTimestamp(timestampMicros(value), timestamps);
    case 'DATE':
    case 'TIME':
      return String(value);
    default:
      return String(value);
  }
}

/** Microseconds since the epoch of any DuckDB timestamp value. */
function timestampMicros(value: DuckDBValue): bigint {
  const object = value as { micros?: bigint; millis?: bigint; seconds?: bigint; nanos?: bigint };
  if (object.micros !== undefined) return object.micros;
  if (object.millis !== undefined) return object.millis * 1000n;
  if (object.seconds !== undefined) return object.seconds * 1_000_000n;
  if (object.nanos !== undefined) return object.nanos / 1000n;
  throw new HttpError(500, 'internalError', `not a timestamp: ${String(value)}`);
}

/** A TIMESTAMP as `formatOptions` asks: int64 microseconds, ISO 8601 with microseconds, or float seconds. */
export function encodeTimestamp(micros: bigint, format: TimestampFormat): string {
  if (format === 'int64') return micros.toString();
  if (format === 'float') {
    const seconds = Number(micros) / 1e6;
    return seconds.toExponential().replace('e+', 'E').replace('e-', 'E-');
  }
  const millis = micros / 1000n - (micros % 1000n < 0n ? 1n : 0n);
  const iso = new Date(Number(millis)).toISOString();
  const fraction = ((micros % 1_000_000n) + 1_000_000n) % 1_000_000n;
  return `${iso.slice(0, 19)}.${fraction.toString().padStart(6, '0')}Z`;
}

/** NUMERIC as BigQuery writes it: no trailing zeros, no trailing point. */
export function trimDecimal(text: string): string {
  if (!text.includes('.')) return text;
  return text.replace(/0+$/, '').replace(/\.$/, '');
}
