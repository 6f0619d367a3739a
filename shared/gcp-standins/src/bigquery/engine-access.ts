/**
 * The BigQuery stand-in's DuckDB database as a warehouse access, for the Dataform stand-in: its
 * builds land in the tables that BigQuery jobs then read, as Dataform's do on BigQuery. Write
 * sessions take their turn among the stand-in's write jobs; every table they may have changed gets
 * a new `lastModifiedTime`, as BigQuery gives it.
 */
import { DuckDbWarehouse } from '@mlops/adapters-local';
import { type Warehouse, type WarehouseAccess } from '@mlops/kernel';
import type { BigQueryEngine } from './engine.js';

/** A warehouse access whose sessions run on the BigQuery stand-in's own DuckDB database. */
export function engineWarehouseAccess(engine: BigQueryEngine): WarehouseAccess {
  let writes = 0;
  const session = async <T>(readOnly: boolean, work: (warehouse: Warehouse) => Promise<T>): Promise<T> => {
    const connection = await engine.instance.connect();
    await connection.run("set TimeZone = 'UTC'");
    const warehouse = DuckDbWarehouse.onConnection(engine.instance, connection, readOnly, engine.database);
    try {
      return await work(warehouse);
    } finally {
      await warehouse.end('the session ended');
      connection.closeSync();
    }
  };
  const touchTables = async () => {
    const now = Date.now();
    await engine.read(async (connection) => {
      const reader = await connection.runAndReadAll(
        'select schema_name, table_name from duckdb_tables() where database_name = current_database()',
      );
      for (const [dataset, table] of reader.getRows() as [string, string][]) {
        const key = `${dataset}.${table}`;
        const info = engine.tables.get(key);
        engine.tables.set(key, {
          ...(info ?? { creationTime: now }),
          lastModifiedTime: Math.max(now, (info?.lastModifiedTime ?? 0) + 1),
        });
      }
    });
  };
  return {
    read: (work) => session(true, work),
    write: async (work) => {
      // Errors keep their own type (a failed action names itself), not BigQuery's error shape.
      const outcome = await engine.exclusive(async () => {
        try {
          return { value: await session(false, work) };
        } catch (error) {
          return { error };
        }
      });
      writes += 1;
      await touchTables();
      if ('error' in outcome) throw outcome.error;
      return outcome.value;
    },
    version: async () => `standin-${writes}`,
    close: async () => undefined,
  };
}
