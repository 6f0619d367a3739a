import { startDashboard } from '@mlops/dashboard';
import type { Platform } from '@mlops/kernel';
import type { CliIo } from '../io.js';

/** Serve the dashboard until the process is asked to stop. */
export async function serveUntilStopped(
  platform: Platform,
  options: { port?: number; host?: string; hostLedger?: boolean },
  io: CliIo,
  signal?: AbortSignal,
): Promise<void> {
  const dashboard = await startDashboard(platform, {
    ...(options.port !== undefined ? { port: options.port } : {}),
    ...(options.host !== undefined ? { host: options.host } : {}),
    ...(options.hostLedger !== undefined ? { hostLedger: options.hostLedger } : {}),
  });
  io.out(`dashboard: ${dashboard.url}  (Ctrl-C to stop)`);
  await new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    signal?.addEventListener('abort', () => resolve());
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await dashboard.close();
}

/** `mlops serve [--port N] [--host H]`. */
export async function serveCommand(
  platform: Platform,
  command: { port: number | undefined; host: string | undefined },
  io: CliIo,
): Promise<number> {
  await serveUntilStopped(
    platform,
    {
      ...(command.port !== undefined ? { port: command.port } : {}),
      ...(command.host !== undefined ? { host: command.host } : {}),
    },
    io,
  );
  return 0;
}
