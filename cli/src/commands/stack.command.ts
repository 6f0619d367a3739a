import type { ChildProcess } from 'node:child_process';
import type { Environment } from '@mlops/shared';
import type { CliIo } from '../io.js';
import { emulatorEnvironment, SERVICE_PROCESSES, spawnService } from '../stack/processes.js';

/**
 * `mlops stack up`: the docker-compose topology without Docker. Starts Google's Pub/Sub and
 * Firestore emulators from the installed Cloud SDK (or, with --no-emulators, uses the embedded
 * bus and document store) and every service as its own process; Ctrl-C stops them all.
 */
export async function stackUpCommand(
  command: { emulators: boolean },
  env: Environment,
  io: CliIo,
  signal?: AbortSignal,
): Promise<number> {
  const stops: (() => Promise<void>)[] = [];
  let childEnv: Environment = { ...env };
  if (command.emulators) {
    const { emulatorSupport, startEmulator } = await import('@mlops/shared/gcp');
    for (const kind of ['pubsub', 'firestore'] as const) {
      const support = emulatorSupport(kind);
      if (!support.available) {
        io.err(
          `mlops: cannot start the ${kind} emulator: ${support.reason}. Install the Google Cloud SDK emulators, or run \`mlops stack up --no-emulators\`.`,
        );
        for (const stop of stops) await stop();
        return 1;
      }
    }
    const pubsub = await startEmulator('pubsub');
    stops.push(pubsub.stop);
    const firestore = await startEmulator('firestore');
    stops.push(firestore.stop);
    childEnv = emulatorEnvironment(env, { pubsub: pubsub.host, firestore: firestore.host });
    io.out(`emulators: Pub/Sub on ${pubsub.host}, Firestore on ${firestore.host}`);
  }
  const children: ChildProcess[] = SERVICE_PROCESSES.map((name) => spawnService(name, childEnv, io));
  const exports = command.emulators
    ? `MLOPS_MODE=emulator PUBSUB_EMULATOR_HOST=${childEnv.PUBSUB_EMULATOR_HOST} FIRESTORE_EMULATOR_HOST=${childEnv.FIRESTORE_EMULATOR_HOST} `
    : '';
  io.out(
    `stack: ${SERVICE_PROCESSES.join(', ')} started. In another terminal:\n  ${exports}npx mlops run --attach --date 2026-01-01\n  ${exports}npx mlops status`,
  );
  await new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    signal?.addEventListener('abort', () => resolve());
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  io.out('stack: stopping');
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
          setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
        }),
    ),
  );
  for (const stop of stops.reverse()) await stop();
  return 0;
}
