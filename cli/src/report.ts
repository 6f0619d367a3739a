import { ModelRegistry, type LedgerEntry, type Platform } from '@mlops/kernel';
import { count, table } from './format.js';
import type { CliIo } from './io.js';

interface TableSummary {
  name: string;
  rows: number;
}

function latest(entries: readonly LedgerEntry[], type: LedgerEntry['type']): LedgerEntry | undefined {
  return [...entries].reverse().find((entry) => entry.type === type);
}

/**
 * The end-of-run report: rows per layer, quarantined rows, the champion against the baseline (on
 * the active customers it scores, and on the whole holdout), its last decision, the customers
 * most at risk with the revenue at stake (active customers: the champion of the time's scores) and
 * the lapsed customers as a win-back figure.
 */
export async function printReport(
  platform: Platform,
  entries: readonly LedgerEntry[],
  io: CliIo,
  options: { atRisk?: number } = {},
): Promise<void> {
  const bronze = new Map<string, number>();
  let documents = 0;
  for (const entry of entries) {
    if (entry.type === 'mlops.sales.generated.v1') documents += Number(entry.summary.documentCount ?? 0);
    if (entry.type === 'mlops.bronze.landed.v1') {
      const source = String(entry.summary.source);
      bronze.set(source, (bronze.get(source) ?? 0) + Number(entry.summary.rowCount ?? 0));
    }
  }
  const ready = latest(entries, 'mlops.warehouse.ready.v1');
  const quarantine = new Map<string, number>();
  for (const entry of entries) {
    if (entry.type !== 'mlops.warehouse.ready.v1' || !Array.isArray(entry.summary.quarantine)) continue;
    for (const item of entry.summary.quarantine as unknown as { table: string; rows: number }[])
      quarantine.set(item.table, (quarantine.get(item.table) ?? 0) + item.rows);
  }
  const built = (
    ready && Array.isArray(ready.summary.tables) ? (ready.summary.tables as unknown as TableSummary[]) : []
  ).filter((t) => !t.name.includes('quarantine'));
  const tables = await currentRows(platform, built);

  io.out('\nRows per layer');
  const rows: (string | number)[][] = [['documents', 'sales orders in the document store', count(documents)]];
  for (const [source, n] of [...bronze.entries()].sort()) rows.push(['bronze', source, count(n)]);
  for (const t of tables) rows.push([t.name.startsWith('staging.') ? 'silver' : 'gold', t.name, count(t.rows)]);
  io.out(table(['layer', 'table', 'rows'], rows));

  io.out('\nQuarantined rows (this run)');
  io.out(
    quarantine.size === 0
      ? 'none'
      : table(
          ['table', 'rows'],
          [...quarantine.entries()].sort().map(([name, n]) => [name, count(n)]),
        ),
  );

  const failures = entries.filter((entry) => entry.type === 'mlops.stage.failed.v1');
  if (failures.length > 0) {
    io.out('\nFailures');
    io.out(
      table(
        ['stage', 'code', 'reason'],
        failures.map((f) => [
          f.summary.stage as string,
          f.summary.code as string,
          String(f.summary.reason).slice(0, 100),
        ]),
      ),
    );
  }

  // Stages that closed without output, other than the routine days without a startups load.
  const skipped = new Map<string, string>();
  for (const entry of entries) {
    if (entry.type !== 'mlops.stage.skipped.v1' || entry.summary.code === 'STARTUP_GEN.NOT_DUE') continue;
    const note = `${String(entry.summary.stage)}: ${String(entry.summary.reason).slice(0, 160)}`;
    skipped.set(note, `${entry.runDate} ${note}`);
  }
  if (skipped.size > 0) {
    io.out('\nSkipped');
    for (const line of [...skipped.values()].slice(0, 10)) io.out(line);
    if (skipped.size > 10) io.out(`... ${skipped.size - 10} more: see \`mlops status\``);
  }

  const registry = new ModelRegistry(platform.documents);
  const champion = await registry.champion('churn');
  io.out('\nChurn model');
  if (!champion) io.out('no champion yet');
  else {
    const m = champion.metrics;
    const b = champion.baselineMetrics;
    const all = champion.sliceMetrics?.all;
    const auc = (value: number | null | undefined) => (typeof value === 'number' ? value.toFixed(3) : '-');
    io.out(
      `champion ${champion.version} (${champion.algorithm}), trained on ${champion.dataRange.from} .. ${champion.dataRange.to}, ${count(champion.trainingRows)} rows; holdout ${champion.holdoutRange.from} .. ${champion.holdoutRange.to} (${count(champion.holdoutRows)} active customers)`,
    );
    io.out(
      table(
        ['model', 'ROC AUC active', 'ROC AUC all', 'PR AUC active', 'log loss active'],
        [
          ['champion', m.rocAuc.toFixed(3), auc(all?.rocAuc), m.prAuc.toFixed(3), m.logLoss.toFixed(3)],
          ...(b
            ? [
                [
                  'logistic baseline',
                  b.rocAuc.toFixed(3),
                  auc(champion.baselineSliceMetrics?.all?.rocAuc),
                  b.prAuc.toFixed(3),
                  b.logLoss.toFixed(3),
                ],
              ]
            : []),
        ],
      ),
    );
    const last = (await registry.decisions('churn')).at(-1);
    if (last)
      io.out(
        `last decision (${last.decidedAt.slice(0, 10)}): ${last.challengerVersion} ${last.promoted ? 'promoted' : 'not promoted'}: ${last.reason}`,
      );
  }

  try {
    await platform.warehouse.read(
      async (warehouse) => {
        // Qualify with the catalog: a file named warehouse.duckdb is a catalog called "warehouse" too.
        const [{ catalog } = { catalog: 'memory' }] = await warehouse.query<{ catalog: string }>(
          'select current_database() as catalog',
        );
        const schema = `"${catalog}"."${platform.config.warehouse.warehouseDataset}"`;
        // One score per customer and snapshot: the champion of the time (the view), active customers only.
        const scores = await warehouse.query<{ n: number }>(
          `select count(*) as n from information_schema.tables where table_catalog = ? and table_schema = ? and table_name = 'fact_predictions_churn_champion'`,
          [catalog, platform.config.warehouse.warehouseDataset],
        );
        const source = `${schema}.${Number(scores[0]?.n ?? 0) > 0 ? 'fact_predictions_churn_champion' : 'fact_predictions_churn'}`;
        // The latest snapshot from the table (the view has the same snapshots), then the view at that
        // constant date: the filter reaches below the view's window, which then ranks one snapshot's
        // rows instead of every prediction ever written (17 s of CPU for 8M rows, 0.2 s this way).
        const [latest] = await warehouse.query<{ snapshot_date: string | null }>(
          `select cast(max(snapshot_date) as varchar) as snapshot_date from ${schema}.fact_predictions_churn`,
        );
        const atRisk = latest?.snapshot_date
          ? await warehouse.query<{
              customer_id: string;
              snapshot_date: string;
              churn_probability: number;
              risk_band: string;
              revenue_90d_usd: number;
            }>(
              `with predictions as (select * from ${source} where snapshot_date = cast(? as date)),
                    revenue as (
                      select s.customer_id, sum(s.net_amount_usd) as revenue_90d_usd
                      from ${schema}.fct_sales s
                      where s.is_completed and s.order_date > cast(? as date) - interval 90 day and s.order_date <= cast(? as date)
                      group by s.customer_id)
               select predictions.customer_id, cast(predictions.snapshot_date as varchar) as snapshot_date, predictions.churn_probability, predictions.risk_band,
                      coalesce(revenue.revenue_90d_usd, 0) as revenue_90d_usd
               from predictions left join revenue using (customer_id)
               order by predictions.churn_probability desc, revenue_90d_usd desc, predictions.customer_id
               limit ${options.atRisk ?? 10}`,
              [latest.snapshot_date, latest.snapshot_date, latest.snapshot_date],
            )
          : [];
        const horizon = platform.config.trainer.churnHorizonDays;
        io.out(`\nActive customers most at risk${atRisk[0] ? ` (snapshot ${atRisk[0].snapshot_date})` : ''}`);
        io.out(
          atRisk.length === 0
            ? 'no predictions yet'
            : table(
                ['customer', 'churn probability', 'risk', 'revenue last 90 days (USD)'],
                atRisk.map((r) => [
                  r.customer_id,
                  r.churn_probability.toFixed(3),
                  r.risk_band,
                  r.revenue_90d_usd.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 }),
                ]),
              ),
        );
        if (atRisk[0]) {
          const [lapsed] = await warehouse.query<{ customers: number; revenue: number | null }>(
            `select count(*) as customers, sum(revenue_usd_90d) as revenue from ${schema}.fct_customer_features
             where snapshot_date = cast(? as date) and days_since_last_order > ?`,
            [atRisk[0].snapshot_date, horizon],
          );
          io.out(
            `Win-back: ${count(Number(lapsed?.customers ?? 0))} lapsed customers (no order in the last ${horizon} days, not scored), ${(lapsed?.revenue ?? 0).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })} USD in their 90 days before the snapshot`,
          );
        }
      },
      { purpose: 'mlops: report' },
    );
  } catch (error) {
    io.out(`\nCustomers most at risk: not available (${(error as Error).message.split('\n')[0]})`);
  }
}

/**
 * The tables' rows as they are now (the trainer writes predictions after the transformer's event),
 * or as the transformer's event reported them when the warehouse cannot be read from here.
 */
async function currentRows(platform: Platform, tables: readonly TableSummary[]): Promise<TableSummary[]> {
  if (tables.length === 0) return [];
  try {
    return await platform.warehouse.read(
      async (warehouse) => {
        const [{ catalog } = { catalog: 'memory' }] = await warehouse.query<{ catalog: string }>(
          'select current_database() as catalog',
        );
        const counted: TableSummary[] = [];
        for (const t of tables) {
          const [{ n } = { n: t.rows }] = await warehouse.query<{ n: number | bigint }>(
            `select count(*) as n from "${catalog}".${t.name
              .split('.')
              .map((part) => `"${part.replaceAll('"', '""')}"`)
              .join('.')}`,
          );
          counted.push({ name: t.name, rows: Number(n) });
        }
        return counted;
      },
      { purpose: 'mlops: report' },
    );
  } catch {
    return [...tables];
  }
}
