/**
 * A worker thread hosting some services of the pipeline on its own platform (its own bus and
 * document store connections, same files): the same composition and hosting as in the main thread,
 * so each service still only reacts to its own subscriptions. Log lines go to the parent, which
 * writes them through its logger.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createLogger, hostService, type HostedService, type PlatformConfig } from '@mlops/kernel';
import { createPlatform } from '@mlops/platform';
import { composeNamed, type WorkerServiceName } from './compose.js';
import type { FromWorker, ToWorker } from './worker-stack.js';

const data = workerData as { config: PlatformConfig; services: WorkerServiceName[] };
const port = parentPort!;
const post = (message: FromWorker) => port.postMessage(message);

// No top-level await: from source the worker is booted through tsx's CommonJS hooks (worker-stack.ts).
async function main(): Promise<void> {
  const log = createLogger({
    level: 'debug',
    projectId: data.config.gcp.projectId,
    sink: (line) => post({ log: line }),
  });
  const platform = await createPlatform(data.config, { log });
  const settings = {
    maxAttempts: data.config.bus.maxAttempts,
    backoff: { minMs: data.config.bus.backoffMinMs, maxMs: data.config.bus.backoffMaxMs },
  };
  const hosted: HostedService[] = [];
  for (const service of composeNamed(platform, data.services))
    hosted.push(await hostService(service, { bus: platform.bus, log, settings }));
  port.on('message', (message: ToWorker) => {
    if (message !== 'close') return;
    void (async () => {
      await Promise.all(hosted.map((service) => service.close()));
      await platform.close();
      post({ closed: true });
      port.close();
    })();
  });
  post({ ready: true });
}

main().catch((error: unknown) => {
  post({ failed: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
});
