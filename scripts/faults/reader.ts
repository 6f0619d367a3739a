/**
 * A reader of the warehouse while the schedule runs: read sessions from another process, as the
 * dashboard's, every few hundred milliseconds, each taking every gold table's checksum in one
 * session. What it saw is then checked against the builds the transformer committed: every state it
 * read must be a whole build (the per-table row counts of one `warehouse.ready`, or the empty
 * warehouse), never a mix of two.
 */
import { join } from 'node:path';
import { errorCode, errorMessage, tableChecksums, type WarehouseReady } from '@mlops/kernel';
import { openDuckDbWarehouseAccess } from '@mlops/adapters-local';

/** Tables written outside the transformer's builds (the trainer's predictions, snapshot by snapshot). */
const NOT_BUILT_BY_THE_TRANSFORMER = new Set(['warehouse.fact_predictions_churn']);

/** A polling reader; `stop` resolves to the states it saw (gold `rows:xor:sum` per table). */
export interface PollingReader {
  stop(): Promise<{ reads: number; beforeFirstBuild: number; failures: string[]; states: Record<string, string>[] }>;
}

/** Start reading `home`'s warehouse every `everyMs` until stopped. */
export function startReader(home: string, everyMs = 300): PollingReader {
  const access = openDuckDbWarehouseAccess({ path: join(home, 'warehouse.duckdb') });
  const states = new Map<string, Record<string, string>>();
  const failures: string[] = [];
  let reads = 0;
  let beforeFirstBuild = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      try {
        const state = await access.read((warehouse) => tableChecksums(warehouse, { schemas: ['warehouse'] }));
        reads += 1;
        states.set(JSON.stringify(Object.entries(state).sort()), state);
      } catch (error) {
        // No file before the first build: the empty warehouse, as a reader sees it.
        if (states.size === 0 && /does not exist yet/.test(errorMessage(error))) beforeFirstBuild += 1;
        else failures.push(`${errorCode(error)}: ${errorMessage(error)}`.slice(0, 300));
      }
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      await access.close();
      return { reads, beforeFirstBuild, failures, states: [...states.values()] };
    },
  };
}

/** The gold row counts of a state, leaving out tables no build writes. */
function builtCounts(state: Record<string, string>): Map<string, number> {
  return new Map(
    Object.entries(state)
      .filter(([table]) => !NOT_BUILT_BY_THE_TRANSFORMER.has(table))
      .map(([table, checksum]) => [table, Number(checksum.split(':')[0])]),
  );
}

/**
 * The states that match no committed build: a state matches a `warehouse.ready` when every gold
 * table the event counted has the event's row count, or the empty warehouse when no gold table
 * has rows.
 */
export function unwholeStates(
  states: readonly Record<string, string>[],
  builds: readonly Pick<WarehouseReady, 'tables'>[],
): Record<string, string>[] {
  const committed = builds.map(
    (build) =>
      new Map(
        build.tables
          .filter((table) => table.name.startsWith('warehouse.') && !NOT_BUILT_BY_THE_TRANSFORMER.has(table.name))
          .map((table) => [table.name, table.rows]),
      ),
  );
  return states.filter((state) => {
    const counts = builtCounts(state);
    if ([...counts.values()].every((rows) => rows === 0)) return false;
    return !committed.some(
      (build) => build.size > 0 && [...build].every(([table, rows]) => (counts.get(table) ?? 0) === rows),
    );
  });
}
