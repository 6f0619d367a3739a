/**
 * The MLOps loop end to end on the embedded defaults, through the CLI: a 21-day backfill at scale 1
 * trains and registers a champion and scores every active customer; replaying every event of
 * every topic (each stage sees its input again, in whatever order the bus delivers) leaves the
 * same champion version, the same decisions and identical predictions. The churn horizon is 7 days
 * here so that 21 days of history hold labelled snapshots on both sides of the 7-day embargo.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createPlatform } from '@mlops/platform';
import { loadConfig, ModelRegistry, silentLogger } from '@mlops/kernel';
import { main } from '../src/main.js';
import type { CliIo } from '../src/io.js';

const io: CliIo & { lines: string[] } = {
  lines: [],
  tty: false,
  out: (t) => void io.lines.push(t),
  err: (t) => void io.lines.push(t),
};

async function snapshot(env: Record<string, string>) {
  const platform = await createPlatform(loadConfig(env), { log: silentLogger });
  try {
    const champion = await new ModelRegistry(platform.documents).champion('churn');
    const versions = await new ModelRegistry(platform.documents).list('churn');
    const { predictions, sales } = await platform.warehouse.read(async (warehouse) => {
      const [{ catalog }] = (await warehouse.query<{ catalog: string }>('select current_database() as catalog')) as [
        { catalog: string },
      ];
      return {
        predictions: await warehouse.query(
          `select customer_id, cast(snapshot_date as varchar) as snapshot_date, churn_probability, risk_band, model_version,
                  cast(predicted_at as varchar) as predicted_at, is_backfilled
           from "${catalog}".warehouse.fact_predictions_churn order by snapshot_date, customer_id, model_version`,
        ),
        sales: await warehouse.query(
          `select count(*) as n, sum(net_amount_usd) as revenue from "${catalog}".warehouse.fct_sales`,
        ),
      };
    });
    const decisions = (await new ModelRegistry(platform.documents).decisions('churn')).map((d) => [
      d.challengerVersion,
      d.promoted,
    ]);
    return { champion: champion?.version, versions: versions.map((v) => v.version), decisions, predictions, sales };
  } finally {
    await platform.close();
  }
}

describe('backfill, then replay every event', () => {
  const home = mkdtempSync(join(tmpdir(), 'mlops-backfill-'));
  const env = { MLOPS_HOME: home, MLOPS_CHURN_HORIZON_DAYS: '7' };
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it('keeps the same champion version and identical predictions', async () => {
    const before = new Date(Date.now() - 1000).toISOString();
    expect(await main(['backfill', '--from', '2026-02-01', '--to', '2026-02-21'], env, io), io.lines.join('\n')).toBe(
      0,
    );
    const first = await snapshot(env);
    expect(first.champion).toMatch(/^v-[0-9a-f]{12}$/);
    expect(first.predictions.length).toBeGreaterThan(100);
    expect(io.lines.join('\n')).toContain('21 dates, 21 runs');

    expect(await main(['replay', '--topic', 'all', '--since', before], env, io), io.lines.join('\n')).toBe(0);
    const output = io.lines.join('\n');
    // Every start event reaches the three generators and the ledger again; every landed partition the transformer.
    expect(output).toContain(`rewound 4 subscriptions of pipeline-start to ${before}: 84 deliveries scheduled`);
    expect(
      Number(/rewound 2 subscriptions of bronze-landed to \S+: (\d+) deliveries scheduled/.exec(output)?.[1]),
    ).toBeGreaterThanOrEqual(21 * 2 * 2);
    expect(output).toMatch(/rewound 2 subscriptions of warehouse-ready to \S+: \d+ deliveries scheduled/);
    expect(output).toContain('replay finished');
    const second = await snapshot(env);
    expect(second.champion).toBe(first.champion);
    expect(second.versions).toEqual(first.versions);
    expect(second.decisions).toEqual(first.decisions);
    expect(second.sales).toEqual(first.sales);
    expect(second.predictions).toEqual(first.predictions);
  }, 600_000);
});
