/**
 * Documents staged as NDJSON lines of typed fields for an engine's JSON reader (see
 * DuckDbParquetWriter.createFromDocuments): a plain document as it is stored, any other converted
 * here by the rule of the port's DocumentFileWriter.
 */
import {
  PermanentError,
  type DocumentValue,
  type DocumentColumns,
  type ParquetColumn,
  type ParquetColumnType,
} from '@mlops/kernel';

/** JSON text of a value that fits a column of the type and reads the same whichever way DuckDB reads it. */
const PLAIN_TOKEN: Record<ParquetColumnType, string> = {
  // A string without an escape or a control character: its content as written.
  VARCHAR: '"[^"\\\\\\u0000-\\u001f]*"',
  // At most 15 digits (a safe integer), no sign on zero (DuckDB's JSON reader may take -0 for a real).
  BIGINT: '(?:0|-?[1-9][0-9]{0,14})',
  // At most 15 integer digits, no exponent, no negative zero, no trailing zero (as JavaScript writes numbers).
  DOUBLE: '(?:0|-?[1-9][0-9]{0,14}|-?(?:0|[1-9][0-9]{0,14})\\.[0-9]*[1-9])',
  BOOLEAN: '(?:true|false)',
};

/**
 * What a plain document's text looks like: every field of `fields` once, in that order, each with
 * a value of its column's type in the plain form of {@link PLAIN_TOKEN}, nothing else, no space.
 * Such a document is nearly every document, and the rule would give each field's value as DuckDB's
 * typed JSON reader reads the text, with no extra; so it is staged as it is stored, never parsed.
 * Undefined when there is no field to read.
 */
export function plainDocument(fields: readonly ParquetColumn[]): RegExp | undefined {
  if (fields.length === 0) return undefined;
  return new RegExp(
    `^\\{${fields.map((column, index) => `${index === 0 ? '' : ','}"${column.name}":${PLAIN_TOKEN[column.type]}`).join('')}\\}$`,
  );
}

/** Names no field has: the keys of a staged line for the document's id and for its extra text. */
export interface StagingKeys {
  readonly id: string;
  readonly extra: string;
}

export function stagingKeys(fields: readonly ParquetColumn[]): StagingKeys {
  const taken = new Set(fields.map((column) => column.name));
  const free = (name: string): string => {
    if (taken.has(name)) return free(`${name}_`);
    taken.add(name);
    return name;
  };
  return { id: free('i'), extra: free('x') };
}

/** The columns of `columns` that are document fields (not the id or the extra column). */
export function fieldColumns(columns: readonly ParquetColumn[], layout: DocumentColumns): ParquetColumn[] {
  return columns.filter((column) => column.name !== layout.idColumn && column.name !== layout.extraColumn);
}

/**
 * A value as the JSON text the typed reader reads into a column of the type, or undefined when it
 * does not fit (see the port's DocumentFileWriter): VARCHAR a string, or a finite number as the
 * digits `String(number)` writes; DOUBLE a number (negative zero spelled as a real, which the
 * reader keeps); BIGINT a safe integer; BOOLEAN a boolean.
 */
function fitted(value: DocumentValue, type: ParquetColumnType): string | undefined {
  switch (type) {
    case 'VARCHAR':
      return typeof value === 'string'
        ? JSON.stringify(value)
        : typeof value === 'number'
          ? `"${String(value)}"`
          : undefined;
    case 'DOUBLE':
      return typeof value !== 'number' ? undefined : Object.is(value, -0) ? '-0.0' : String(value);
    case 'BIGINT':
      return typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : undefined;
    case 'BOOLEAN':
      return typeof value === 'boolean' ? String(value) : undefined;
  }
}

/**
 * The staged line of any document, by the rule of the port's DocumentFileWriter:
 * `{"<id>":<id>,"<column>":<value>,...,"<extra>":<extra text>}` with each field whose value fits
 * its column, null fields and missing ones left out (they read as null), and the fields without a
 * column or with a value that does not fit kept, in the document's order, as the text of a JSON
 * object (left out when there are none). Numbers are read as JSON.parse reads them. A text that is
 * not a JSON object is an error naming the document.
 */
export function ruleLine(
  id: string,
  json: string,
  columns: ReadonlyMap<string, ParquetColumnType>,
  keys: StagingKeys,
): string {
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch (error) {
    throw new PermanentError(
      'PARQUET.BAD_DOCUMENT',
      `document ${JSON.stringify(id)} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data))
    throw new PermanentError('PARQUET.BAD_DOCUMENT', `document ${JSON.stringify(id)} is not a JSON object`);
  let line = `{"${keys.id}":${JSON.stringify(id)}`;
  const extra: string[] = [];
  for (const [field, value] of Object.entries(data as Record<string, DocumentValue>)) {
    const type = columns.get(field);
    if (type !== undefined && value === null) continue;
    const text = type === undefined ? undefined : fitted(value, type);
    if (text === undefined) extra.push(`${JSON.stringify(field)}:${JSON.stringify(value)}`);
    else line += `,"${field}":${text}`;
  }
  if (extra.length > 0) line += `,"${keys.extra}":${JSON.stringify(`{${extra.join(',')}}`)}`;
  return `${line}}`;
}
