import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createEvent, encodeMessage } from '@mlops/kernel';
import {
  openDuckDbWarehouse,
  openDuckDbWarehouseAccess,
  releaseDuckDbFile,
  SqliteEventBus,
} from '@mlops/adapters-local';
import { processHarness, waitForValue } from '@mlops/testing';
import { buildGoldWarehouse } from '@mlops/testing/fixtures';
import { afterEach, describe, expect, it } from 'vitest';

// The dashboard as its own process: `src/main.ts`, started the way `npm start -w services/dashboard` does.
const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
/** How long a child process gets to start, answer or let go (tsx compiles on first start). */
const WAIT_MS = 20_000;

describe('dashboard process', () => {
  const harness = processHarness(main, 'dashboard-main-');
  afterEach(() => harness.stop());

  it('exits 1 naming the setting when the configuration is bad', async () => {
    const run = harness.start({ MLOPS_HOME: harness.home(), MLOPS_DASHBOARD_PORT: 'eighty' });
    expect(await run.exited).toBe(1);
    expect(run.output()).toContain('MLOPS_DASHBOARD_PORT');
    expect(run.output()).toContain('CONFIG.INVALID_SETTING');
  });

  it('exits 1 rather than listen on a non-loopback address', async () => {
    const run = harness.start({
      MLOPS_HOME: harness.home(),
      MLOPS_DASHBOARD_HOST: '0.0.0.0',
      MLOPS_DASHBOARD_PORT: '0',
    });
    expect(await run.exited).toBe(1);
    expect(run.output()).toContain('DASHBOARD.REMOTE_BIND_REFUSED');
    expect(run.output()).toContain('MLOPS_DASHBOARD_ALLOW_REMOTE');
  });

  it('serves a fresh platform, fills the run ledger from the bus, and stops on SIGTERM', async () => {
    const folder = harness.home();
    const run = harness.start({ MLOPS_HOME: folder, MLOPS_DASHBOARD_PORT: '0' });
    const url = await waitForValue(
      () => /"url":"(http:\/\/127\.0\.0\.1:\d+\/)"/.exec(run.output())?.[1],
      `the dashboard to listen (output: ${run.output()})`,
      WAIT_MS,
    );
    const kpis = (await (await fetch(`${url}api/kpis?view=historical`)).json()) as { kpis: { orders: number } };
    expect(kpis.kpis.orders).toBe(0);
    expect((await fetch(url)).status).toBe(200);

    // Another process of the platform publishes an event: the dashboard's observer records it.
    const bus = new SqliteEventBus({ path: join(folder, 'bus.sqlite') });
    await bus.publish(
      createEvent(
        'mlops.pipeline.started.v1',
        { runDate: '2026-06-01', trigger: 'cli' },
        { source: '//mlops/cli', runid: 'run_20260601_main', rundate: '2026-06-01' },
      ) as never,
    );
    await bus.close();
    const runs = await waitForValue(
      async () => {
        const answer = (await (await fetch(`${url}api/operations/runs`)).json()) as {
          total: number;
          runs: { runId: string }[];
        };
        return answer.total > 0 ? answer : undefined;
      },
      'the run to reach the ledger',
      WAIT_MS,
    );
    expect(runs.runs[0]!.runId).toBe('run_20260601_main');

    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
  });

  it('exits 1 naming MLOPS_TRANSPORT when it is neither pull nor http', async () => {
    const run = harness.start({ MLOPS_HOME: harness.home(), MLOPS_TRANSPORT: 'push' });
    expect(await run.exited).toBe(1);
    expect(run.output()).toContain('MLOPS_TRANSPORT');
  });

  it('with MLOPS_TRANSPORT=http listens on PORT and fills the run ledger from Eventarc pushes', async () => {
    const run = harness.start({ MLOPS_HOME: harness.home(), MLOPS_TRANSPORT: 'http', PORT: '0' });
    const url = await waitForValue(
      () => /"url":"(http:\/\/127\.0\.0\.1:\d+\/)"/.exec(run.output())?.[1],
      `the dashboard to listen (output: ${run.output()})`,
      WAIT_MS,
    );
    const event = createEvent(
      'mlops.pipeline.started.v1',
      { runDate: '2026-06-01', trigger: 'cli' },
      { source: '//mlops/cli', runid: 'run_20260601_http', rundate: '2026-06-01' },
    );
    const message = encodeMessage(event as never);
    const pushed = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'ce-specversion': '1.0',
        'ce-type': 'google.cloud.pubsub.topic.v1.messagePublished',
        'ce-source': '//pubsub.googleapis.com/projects/p/topics/pipeline-start',
        'ce-id': 'm-1',
      },
      body: JSON.stringify({
        message: {
          data: Buffer.from(message.data).toString('base64'),
          attributes: message.attributes,
          messageId: 'm-1',
        },
        subscription: 'projects/p/subscriptions/eventarc-dashboard',
      }),
    });
    expect(pushed.status).toBe(204);
    const runs = (await (await fetch(`${url}api/operations/runs`)).json()) as { runs: { runId: string }[] };
    expect(runs.runs.map((entry) => entry.runId)).toEqual(['run_20260601_http']);

    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
  });

  it('yields the warehouse to a writer in another process, answers from memory meanwhile, then shows the new data', async () => {
    const folder = harness.home();
    const path = join(folder, 'warehouse.duckdb');
    const builder = await openDuckDbWarehouse({ path });
    await buildGoldWarehouse(builder, { endDate: '2026-06-30', days: 10, scale: 0.05 });
    await builder.close();
    releaseDuckDbFile(path);
    const run = harness.start({ MLOPS_HOME: folder, MLOPS_DASHBOARD_PORT: '0' });
    const url = await waitForValue(
      () => /"url":"(http:\/\/127\.0\.0\.1:\d+\/)"/.exec(run.output())?.[1],
      'the dashboard to listen',
      WAIT_MS,
    );
    const kpis = async () => {
      const response = await fetch(`${url}api/kpis?view=historical`);
      return {
        status: response.status,
        data: response.headers.get('x-mlops-data'),
        orders: ((await response.json()) as { kpis: { orders: number } }).kpis?.orders,
      };
    };
    const before = await kpis();
    expect(before.orders).toBeGreaterThan(0);

    // This process writes: the dashboard, which has just read, lets the file go for it.
    const access = openDuckDbWarehouseAccess({ path, waitMs: WAIT_MS });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    const started = Date.now();
    const writing = access.write(async (warehouse) => {
      entered();
      await warehouse.execute(`insert into warehouse.warehouse.fct_sales select 'ord_late_' || order_id, customer_id, ordered_at, order_date, product_id, product_name, category, quantity,
        unit_price_usd, discount_pct, gross_amount_usd, net_amount_usd, payment_method, channel, status, is_completed, run_date from warehouse.warehouse.fct_sales limit 4`);
      await held;
    });
    await inside;
    expect(Date.now() - started).toBeLessThan(5_000);
    // While the writer holds the warehouse the dashboard answers what it holds in memory.
    expect(await kpis()).toEqual(before);
    release();
    await writing;
    await access.close();
    expect(
      await waitForValue(
        async () => ((await kpis()).orders === before.orders + 4 ? true : undefined),
        'the new data',
        WAIT_MS,
      ),
    ).toBe(true);

    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
  });
});
