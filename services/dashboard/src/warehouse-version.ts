/**
 * The version of a DuckDB warehouse file: its size and modification time, and its write-ahead
 * log's. Every commit touches one of them, so a cached answer is reused only while the data it
 * was computed from is unchanged.
 */
import { stat } from 'node:fs/promises';

/** A function returning the current version of the DuckDB file at `path` (`missing` before it exists). */
export function warehouseFileVersion(path: string): () => Promise<string> {
  const describe = async (file: string) => {
    try {
      const info = await stat(file);
      return `${info.size}@${info.mtimeMs}`;
    } catch {
      return '-';
    }
  };
  return async () => {
    const [data, wal] = await Promise.all([describe(path), describe(`${path}.wal`)]);
    return data === '-' && wal === '-' ? 'missing' : `${data}/${wal}`;
  };
}
