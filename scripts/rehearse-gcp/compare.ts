/**
 * The gold tables of the gcp run against those of the local run: per table the row count and the
 * folds of the row hashes (`tableChecksums`, as the kill test compares).
 */
import { PREDICTIONS_TABLE } from '@mlops/trainer';

/** Tables the trainer writes: compared only when the trainer ran in the gcp chain. */
export const TRAINER_TABLES = [`warehouse.${PREDICTIONS_TABLE}`];

/** One table's verdict. */
export interface TableVerdict {
  table: string;
  local?: string;
  gcp?: string;
  verdict: 'equal' | 'differ' | 'not rehearsed';
}

/** Every table's verdict, and whether all compared tables are equal. */
export interface GoldComparison {
  tables: TableVerdict[];
  equal: boolean;
}

/** Compare checksums by table; `trainerRan` says whether the trainer's tables are expected on gcp. */
export function compareGold(
  local: Record<string, string>,
  gcp: Record<string, string>,
  trainerRan = false,
): GoldComparison {
  const names = [...new Set([...Object.keys(local), ...Object.keys(gcp)])].sort();
  const tables = names.map((table): TableVerdict => {
    const sides = { ...(local[table] ? { local: local[table] } : {}), ...(gcp[table] ? { gcp: gcp[table] } : {}) };
    // Without the trainer the gcp side has at most the empty table Dataform declares.
    if (!trainerRan && TRAINER_TABLES.includes(table)) return { table, ...sides, verdict: 'not rehearsed' };
    return { table, ...sides, verdict: local[table] !== undefined && local[table] === gcp[table] ? 'equal' : 'differ' };
  });
  const compared = tables.filter((table) => table.verdict !== 'not rehearsed');
  return { tables, equal: compared.length > 0 && compared.every((table) => table.verdict === 'equal') };
}

/** The lines the rehearsal prints for the comparison. */
export function comparisonLines(comparison: GoldComparison): string[] {
  const rows = (checksum: string | undefined) => checksum?.split(':')[0] ?? '-';
  const lines = comparison.tables.map((table) => {
    if (table.verdict === 'not rehearsed')
      return `${table.table}: local ${rows(table.local)} rows; not rehearsed (the trainer is not in the gcp chain yet)`;
    if (table.verdict === 'equal') return `${table.table}: ${rows(table.local)} rows; equal`;
    return `${table.table}: local ${table.local ?? 'missing'}, gcp ${table.gcp ?? 'missing'}; differ`;
  });
  const differing = comparison.tables.filter((table) => table.verdict === 'differ').map((table) => table.table);
  lines.push(
    comparison.equal
      ? 'gold tables equal to local mode: yes'
      : `gold tables equal to local mode: no (${differing.length > 0 ? differing.join(', ') : 'no table compared'})`,
  );
  return lines;
}
