import { SALES_BRONZE_COLUMNS, type DocumentValue, type ParquetColumnType, type ParquetRow, type ParquetValue, type StoredDocument } from '@mlops/shared';

const TYPE_OF = new Map<string, ParquetColumnType>(SALES_BRONZE_COLUMNS.filter((column) => !column.name.startsWith('_')).map((column) => [column.name, column.type]));
const MISFIT = Symbol('misfit');

function fit(value: DocumentValue | undefined, type: ParquetColumnType): ParquetValue | typeof MISFIT {
  if (value === null || value === undefined) return null;
  switch (type) {
    case 'VARCHAR':
      // Raw timestamps may arrive as epoch-millis numbers: their digits are kept as text.
      if (typeof value === 'string') return value;
      return typeof value === 'number' && Number.isFinite(value) ? String(value) : MISFIT;
    case 'DOUBLE':
      return typeof value === 'number' && Number.isFinite(value) ? value : MISFIT;
    case 'BIGINT':
      return typeof value === 'number' && Number.isSafeInteger(value) ? value : MISFIT;
    case 'BOOLEAN':
      return typeof value === 'boolean' ? value : MISFIT;
  }
}

/**
 * The bronze row of a sales document (see `SALES_BRONZE_COLUMNS`). A value that does not fit its
 * column (a string quantity, an object where text belongs) and any field without a column go to
 * `_extra_json` untouched, so nothing is lost. The document's data object is reused as the row: the
 * lander streams a million of them and never keeps one.
 */
export function salesRowOf(document: StoredDocument): ParquetRow {
  const row = document.data as Record<string, ParquetValue | DocumentValue>;
  let extra: Record<string, DocumentValue> | undefined;
  for (const field in row) {
    const value = row[field] as DocumentValue;
    const type = TYPE_OF.get(field);
    const fitted = type === undefined ? MISFIT : fit(value, type);
    if (fitted === MISFIT) {
      (extra ??= {})[field] = value;
      if (type === undefined) delete row[field];
      else row[field] = null;
    } else if (fitted !== value) row[field] = fitted;
  }
  row._document_id = document.id;
  row._extra_json = extra ? JSON.stringify(extra) : null;
  return row as ParquetRow;
}
