import { fileURLToPath } from 'node:url';
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

/** Registers tsx's CommonJS hooks in the worker, then requires the entry (an eval'd worker script is CommonJS). */
const BOOTSTRAP =
  "const { workerData } = require('node:worker_threads');" +
  'require(workerData.loader).register(); require(workerData.entry);';

/**
 * The worker's entry: compiled beside this module, or its TypeScript source loaded through tsx's
 * CommonJS hooks, which transform in the worker's own thread instead of round trips to an ESM
 * loader thread per module.
 */
function spawnWorker(workerData: Record<string, unknown>): Worker {
  const compiled = import.meta.url.endsWith('.js');
  const entry = new URL(`./service-worker.${compiled ? 'js' : 'ts'}`, import.meta.url);
  if (compiled) return new Worker(entry, { workerData });
  // A profiled command (`node --cpu-prof ...`) profiles its workers too.
  const profile = process.execArgv.filter((flag) => flag.startsWith('--cpu-prof'));
  return new Worker(BOOTSTRAP, {
    eval: true,
    workerData: {
      ...workerData,
      loader: fileURLToPath(import.meta.resolve('tsx/cjs/api')),
      entry: fileURLToPath(entry),
    },
    execArgv: ['--conditions=@mlops/source', ...profile],
  });
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
