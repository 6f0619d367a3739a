/**
 * Every service of the rehearsal as a process of its own, as Cloud Run runs them: the services'
 * own `main.ts` (the dashboard's takes every topic's pushes for its run ledger) and the dead-letter
 * relay (`mlops dlq relay`), each on its
 * `PORT` with `MLOPS_TRANSPORT=http`. Their output goes to one log file each.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { waitFor } from '@mlops/testing';
import { repoRoot } from '../../cli/src/stack/processes.js';

const tsx = pathToFileURL(join(repoRoot, 'node_modules/tsx/dist/loader.mjs')).href;
// The stack's guard: a process whose stdin (held by the rehearsal) ends stops itself, so none outlives it.
const orphanGuard = pathToFileURL(join(repoRoot, 'cli/src/stack/orphan-guard.ts')).href;

/** The entry point of a rehearsal process. */
export function entryOf(name: string): string[] {
  if (name === 'dead-letters') return [join(repoRoot, 'cli/src/main.ts'), 'dlq', 'relay'];
  return [join(repoRoot, 'services', name, 'src', 'main.ts')];
}

/** A running service process. */
export interface ServiceProcess {
  readonly name: string;
  readonly url: string;
  readonly child: ChildProcess;
  readonly logPath: string;
  /** Its output so far. */
  log(): string;
}

/** Start one service on `port` and wait until it answers its health check. */
export async function startServiceProcess(
  name: string,
  port: number,
  env: Record<string, string>,
  logDir: string,
): Promise<ServiceProcess> {
  mkdirSync(logDir, { recursive: true });
  const logPath = join(logDir, `${name}.log`);
  const out: WriteStream = createWriteStream(logPath);
  const args = ['--conditions=@mlops/source', '--import', tsx, '--import', orphanGuard, ...entryOf(name)];
  const child = spawn(process.execPath, args, {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env, PORT: String(port) },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdout!.pipe(out, { end: false });
  child.stderr!.pipe(out, { end: false });
  const url = `http://127.0.0.1:${port}/`;
  const service: ServiceProcess = { name, url, child, logPath, log: () => readFileSync(logPath, 'utf8') };
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}:\n${service.log()}`);
        try {
          return (await fetch(url, { signal: AbortSignal.timeout(2_000) })).status === 200;
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 250));
          return false;
        }
      },
      `${name} to answer on ${url}`,
      180_000,
    );
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return service;
}

/** SIGTERM each process and wait for it to exit (SIGKILL after 20 s). */
export async function stopServiceProcesses(services: readonly ServiceProcess[]): Promise<void> {
  await Promise.all(
    services.map(
      (service) =>
        new Promise<void>((resolve) => {
          if (service.child.exitCode !== null || service.child.signalCode !== null) return resolve();
          const timer = setTimeout(() => service.child.kill('SIGKILL'), 20_000);
          service.child.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          service.child.kill('SIGTERM');
        }),
    ),
  );
}
