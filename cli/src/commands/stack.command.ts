import type { Environment } from '@mlops/kernel';
import { emulatorTooling } from '@mlops/platform';
import type { CliIo } from '../io.js';
import {
  emulatorEnvironment,
  exportLine,
  SERVICE_PROCESSES,
  spawnService,
  stackEnvironment,
} from '../stack/processes.js';
import { Supervisor, type SupervisorOptions } from '../stack/supervisor.js';

/**
 * `mlops stack up`: the docker-compose topology without Docker. Starts Google's Pub/Sub and
 * Firestore emulators from the installed Cloud SDK (or, with --no-emulators, uses the embedded
 * bus and document store) and every service as its own process, restarts a service that exits
 * (and gives up on one that keeps crashing), prints the environment the next command needs, and
 * on SIGINT/SIGTERM (or `signal`) stops everything. Exits 1 when every service was given up on.
 */
export async function stackUpCommand(
  command: { emulators: boolean },
  env: Environment,
  io: CliIo,
  signal?: AbortSignal,
  supervision: Partial<SupervisorOptions> = {},
): Promise<number> {
  const stops: (() => Promise<void>)[] = [];
  let childEnv = stackEnvironment(env);
  if (command.emulators) {
    const { emulatorSupport, startEmulator } = await emulatorTooling();
    for (const kind of ['pubsub', 'firestore'] as const) {
      const support = emulatorSupport(kind);
      if (!support.available) {
        io.err(
          `mlops: cannot start the ${kind} emulator: ${support.reason}. Install the Google Cloud SDK emulators, or run \`mlops stack up --no-emulators\`.`,
        );
        return 1;
      }
    }
    try {
      const pubsub = await startEmulator('pubsub');
      stops.push(pubsub.stop);
      const firestore = await startEmulator('firestore');
      stops.push(firestore.stop);
      childEnv = emulatorEnvironment(childEnv, { pubsub: pubsub.host, firestore: firestore.host });
      io.out(`emulators: Pub/Sub on ${pubsub.host}, Firestore on ${firestore.host}`);
    } catch (error) {
      for (const stop of stops.reverse()) await stop();
      throw error;
    }
  }
  const supervisor = new Supervisor({
    spawn: (name) => spawnService(name, childEnv, io),
    log: (line) => io.out(line),
    ...supervision,
  });
  supervisor.start(SERVICE_PROCESSES);
  io.out(
    `stack: ${SERVICE_PROCESSES.join(', ')} started (state in ${childEnv.MLOPS_HOME}). In another terminal:\n  ${exportLine(childEnv)}\n  npx mlops backfill --from 2026-01-01 --to 2026-01-31 --attach\n  npx mlops status`,
  );
  let stop!: () => void;
  const outcome = await new Promise<'stopped' | 'gave up'>((resolve) => {
    stop = () => resolve('stopped');
    if (signal?.aborted) return stop();
    signal?.addEventListener('abort', stop);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    void supervisor.gaveUp.then(() => resolve('gave up'));
  });
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  io.out(outcome === 'stopped' ? 'stack: stopping' : 'stack: every service was given up on; stopping');
  await supervisor.stop();
  for (const stop of stops.reverse()) await stop();
  io.out('stack: stopped');
  return outcome === 'stopped' ? 0 : 1;
}
