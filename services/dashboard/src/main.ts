/**
 * The dashboard as its own process: configuration, platform, dashboard (its ledger fed by the bus,
 * or by Eventarc's pushes with `MLOPS_TRANSPORT=http`); SIGTERM/SIGINT close everything. A bad setting exits 1 with its name; so does a refused or failed bind.
 */
import { createLogger, errorCode, errorMessage, loadConfig, type Platform } from '@mlops/kernel';
import { createPlatform, transportOf } from '@mlops/platform';
import { startDashboard, type RunningDashboard } from './start.js';

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const transport = transportOf(process.env);
  const platform: Platform = await createPlatform(config, { service: 'dashboard' });
  let dashboard: RunningDashboard;
  try {
    dashboard = await startDashboard(platform, { transport });
  } catch (error) {
    await platform.close();
    throw error;
  }
  platform.log.info(`dashboard at ${dashboard.url}`, { service: 'dashboard', url: dashboard.url });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    platform.log.info('dashboard stopping', { service: 'dashboard', signal });
    await dashboard.close();
    await platform.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

main().catch((error: unknown) => {
  // The platform logger may not exist yet (bad configuration): log the failure as one JSON line.
  createLogger({ sink: (line) => process.stderr.write(line + '\n') }).error(
    `dashboard failed to start: ${errorMessage(error)}`,
    {
      service: 'dashboard',
      code: errorCode(error),
      setting: (error as { setting?: unknown }).setting,
    },
  );
  process.exit(1);
});
