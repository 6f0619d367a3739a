import { Worker } from 'node:worker_threads';
import type { LogFields, Platform } from '@mlops/kernel';
import { CliErrors } from '../errors.js';
import type { WorkerServiceName } from './compose.js';

/** Messages of the service worker to this thread. */
export type FromWorker = { ready: true } | { closed: true } | { log: string } | { failed: string };
/** Messages of this thread to the service worker. */
export type ToWorker = 'close';

const LEVELS = { DEBUG: 'debug', INFO: 'info', WARNING: 'warning', ERROR: 'error' } as const;

/** A worker line written through this thread's logger, keeping its own time and fields. */
function forward(platform: Platform, line: string): void {
  const { severity, message, ...fields } = JSON.parse(line) as LogFields & { severity: string; message: string };
  platform.log[LEVELS[severity as keyof typeof LEVELS] ?? 'info'](message, fields);
}

/** The worker's entry: compiled beside this module, or its TypeScript source loaded through tsx. */
function spawnWorker(workerData: unknown): Worker {
  const compiled = import.meta.url.endsWith('.js');
  const entry = new URL(`./service-worker.${compiled ? 'js' : 'ts'}`, import.meta.url).href;
  if (compiled) return new Worker(new URL(entry), { workerData });
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `const { register } = await import(${JSON.stringify(tsx)}); register(); await import(${JSON.stringify(entry)});`;
  // A profiled command (`node --cpu-prof ...`) profiles its workers too.
  const profile = process.execArgv.filter((flag) => flag.startsWith('--cpu-prof'));
  return new Worker(boot, { eval: true, workerData, execArgv: ['--conditions=@mlops/source', ...profile] });
}

/**
 * Host some per-day services in a worker thread on the same bus and document files (local mode:
 * SQLite in WAL, several connections): they run on the other core instead of competing with the
 * services of this thread's event loop. Resolves once their subscriptions are consumed.
 */
export async function hostInWorker(
  platform: Platform,
  services: readonly WorkerServiceName[],
): Promise<{ close(): Promise<void> }> {
  const worker = spawnWorker({ config: platform.config, services });
  let onClosed: () => void = () => undefined;
  const ready = new Promise<void>((resolve, reject) => {
    worker.on('message', (message: FromWorker) => {
      if ('log' in message) forward(platform, message.log);
      else if ('ready' in message) resolve();
      else if ('closed' in message) onClosed();
      else reject(CliErrors.workerFailed(services.join(', '), message.failed));
    });
    worker.on('error', (error) => {
      platform.log.error('service worker failed', { services: services.join(','), error });
      reject(CliErrors.workerFailed(services.join(', '), error.message));
    });
    worker.on('exit', (code) => reject(CliErrors.workerFailed(services.join(', '), `exited with code ${code}`)));
  });
  try {
    await ready;
  } catch (error) {
    await worker.terminate();
    throw error;
  }
  return {
    close: async () => {
      const closed = new Promise<void>((resolve) => {
        onClosed = resolve;
        worker.once('exit', () => resolve());
      });
      worker.postMessage('close' satisfies ToWorker);
      await closed;
      await worker.terminate();
    },
  };
}
