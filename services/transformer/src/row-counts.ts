/**
 * Row counts of the tables a Dataform invocation built, for `mlops.warehouse.ready.v1`: the
 * Dataform API reports none, so they are read through the warehouse port in one read session,
 * one `count(*)` per table in one query (SQL both engines accept; names and dates as
 * parameters). A table the invocation did not leave behind is not counted.
 */
import type {
  TransformQuarantineCount,
  TransformTableCount,
  WarehouseAccess,
  WarehouseSchema,
  WarehouseValue,
} from '@mlops/kernel';

/** The tables to count: every built table, and the quarantine tables among them (counted for the run dates). */
export interface CountTargets {
  /** `dataset.table` names. */
  tables: string[];
  quarantine: string[];
}

/** The counts, sorted by name. */
export interface RowCounts {
  tables: TransformTableCount[];
  quarantine: TransformQuarantineCount[];
}

/** `dataset.table` split in two; anything else is not a table name the warehouse can hold. */
function split(name: string): [string, string] | undefined {
  const match = /^([A-Za-z_][A-Za-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(name);
  return match ? [match[1]!, match[2]!] : undefined;
}

/** The `countRows` of the Dataform API runner, over the platform's warehouse. */
export function countBuiltRows(
  warehouse: WarehouseAccess,
): (targets: CountTargets, runDates: readonly string[]) => Promise<RowCounts> {
  return (targets, runDates) =>
    warehouse.read(
      async (session) => {
        const datasets = new Map<string, WarehouseSchema>();
        const relation = async (name: string): Promise<string | undefined> => {
          const parts = split(name);
          if (!parts) return undefined;
          let schema = datasets.get(parts[0]);
          if (!schema) datasets.set(parts[0], (schema = await session.describeSchema(parts[0])));
          return schema.tables.has(parts[1]) ? schema.table(parts[1]) : undefined;
        };
        const selects: string[] = [];
        const params: WarehouseValue[] = [];
        for (const name of [...new Set(targets.tables)].sort()) {
          const table = await relation(name);
          if (!table) continue;
          selects.push(`select 'table' as kind, ? as name, count(*) as n from ${table}`);
          params.push(name);
        }
        const quarantine: TransformQuarantineCount[] = [];
        for (const name of [...new Set(targets.quarantine)].sort()) {
          const table = await relation(name);
          if (!table) continue;
          // No run date: nothing was quarantined for the run (and an empty list has no element type to send).
          if (runDates.length === 0) quarantine.push({ table: name, rows: 0 });
          else {
            selects.push(
              `select 'quarantine' as kind, ? as name, count(*) as n from ${table} where run_date in (select * from unnest(?))`,
            );
            params.push(name, [...runDates]);
          }
        }
        if (selects.length === 0) return { tables: [], quarantine };
        const rows = await session.query<{ kind: string; name: string; n: WarehouseValue }>(
          selects.join('\nunion all\n'),
          params,
        );
        const byName = (a: string, b: string) => a.localeCompare(b);
        for (const row of rows)
          if (row.kind === 'quarantine') quarantine.push({ table: String(row.name), rows: Number(row.n) });
        return {
          tables: rows
            .filter((row) => row.kind === 'table')
            .map((row) => ({ name: String(row.name), rows: Number(row.n) }))
            .sort((a, b) => byName(a.name, b.name)),
          quarantine: quarantine.sort((a, b) => byName(a.table, b.table)),
        };
      },
      { purpose: 'transformer: row counts of the built tables' },
    );
}
