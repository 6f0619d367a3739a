/**
 * The dashboard server of the benchmark, in a process of its own (so the load generator does not
 * share its event loop): `tsx --conditions=@mlops/source server.child.ts <workDir> <cacheEntries>`. Prints one JSON line
 * with its URL, the table sizes, the warm-up time and the RSS after it, then serves until SIGTERM.
 */
import { join } from 'node:path';
import { ModelRegistry, RunLedger, silentLogger } from '@mlops/kernel';
import { SqliteDocumentStore, SqliteEventBus, openDuckDbWarehouseAccess } from '@mlops/adapters-local';
import { createDashboardServer } from '@mlops/dashboard';

const [workDir, cacheEntries] = process.argv.slice(2);
if (!workDir) throw new Error('usage: server.child.ts <workDir> <cacheEntries>');
const path = join(workDir, 'warehouse.duckdb');
const warehouse = openDuckDbWarehouseAccess({ path });
const documents = new SqliteDocumentStore({ path: join(workDir, 'documents.sqlite') });
const bus = new SqliteEventBus({ path: join(workDir, 'bus.sqlite') });
const ledger = new RunLedger(documents);
const server = await createDashboardServer({
  warehouse,
  ledger,
  registry: new ModelRegistry(documents),
  bus,
  log: silentLogger,
  cacheEntries: Number(cacheEntries ?? 500),
});
const rows: Record<string, number> = {};
for (const table of ['fct_sales', 'dim_customer', 'fct_sessions', 'dim_startup', 'fact_predictions_churn']) {
  rows[table] = Number(
    (
      await warehouse.read((session) =>
        session.query<{ n: number }>(`select count(*) as n from warehouse.warehouse.${table}`),
      )
    )[0]!.n,
  );
}
rows.ledger_entries = (await ledger.entries()).length;
// As `mlops dashboard` does at start: the page's first requests, the cubes and the in-memory
// indexes are computed before anyone connects (timed, and reported by the bench).
const warmStarted = performance.now();
await server.warm();
const warmUpMs = Math.round(performance.now() - warmStarted);
const address = await server.listen({ host: '127.0.0.1', port: 0, allowRemote: false });
process.stdout.write(
  JSON.stringify({ url: address.url, rows, warmUpMs, rssMb: Math.round(process.memoryUsage().rss / 1e6) }) + '\n',
);
process.once('SIGTERM', () => {
  void (async () => {
    await server.close();
    await warehouse.close();
    await bus.close();
    await documents.close();
    process.exit(0);
  })();
});
